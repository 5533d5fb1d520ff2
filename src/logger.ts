/**
 * Structured logs (pino). Each process makes one root logger and hands children down. JSON lines
 * by default, for log collectors; `LOG_FORMAT=pretty` (what `npm run dev` sets) prints one coloured
 * line per record for a person at a terminal, through pino-pretty in pino's transport thread.
 */
import { pino, transport, type Logger } from 'pino';
import type { Config } from './config.js';

export type { Logger };

/** The slice of the configuration a logger needs. */
export type LogSettings = Pick<Config, 'logLevel'> & Partial<Pick<Config, 'logFormat'>>;

export function createLogger(config: LogSettings, name: string): Logger {
  const options = { name, level: config.logLevel, base: { service: name } };
  if (config.logFormat !== 'pretty') return pino(options);
  return pino(
    options,
    transport({
      target: 'pino-pretty',
      options: {
        colorize: process.stdout.isTTY === true,
        translateTime: 'SYS:HH:MM:ss.l',
        ignore: 'pid,hostname,service',
      },
    }),
  );
}
