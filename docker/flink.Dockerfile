# Flink 1.20 with the Kafka SQL connector on every process's classpath.
FROM flink:1.20.3-scala_2.12-java17
RUN wget -q -O /opt/flink/lib/flink-sql-connector-kafka-3.4.0-1.20.jar \
      https://repo1.maven.org/maven2/org/apache/flink/flink-sql-connector-kafka/3.4.0-1.20/flink-sql-connector-kafka-3.4.0-1.20.jar
# The shared checkpoint volume is mounted here; a new named volume takes this folder's owner.
RUN mkdir -p /opt/flink/checkpoints && chown flink:flink /opt/flink/checkpoints
