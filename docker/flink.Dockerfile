# Flink 1.20 with the Kafka SQL connector on every process's classpath.
FROM flink:1.20.3-scala_2.12-java17
RUN wget -q -O /opt/flink/lib/flink-sql-connector-kafka-3.4.0-1.20.jar \
      https://repo1.maven.org/maven2/org/apache/flink/flink-sql-connector-kafka/3.4.0-1.20/flink-sql-connector-kafka-3.4.0-1.20.jar
