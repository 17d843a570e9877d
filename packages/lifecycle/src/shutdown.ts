/**
 * Graceful shutdown, the same for every process: on SIGTERM/SIGINT (or an uncaught error) run the
 * process's own ordered close once, and exit within its budget whatever happens. A second signal
 * exits at once. `close` answers whether it finished cleanly; an unclean stop exits with 1.
 *
 * A second signal is no error: a terminal's Ctrl-C reaches every process of its group and a
 * supervisor (scripts/start.sh, docker, systemd) may signal again while the first close runs.
 */
import closeWithGrace from 'close-with-grace'
import type { Logger } from '@ghl-connect/logging'

export function closeOnSignals (logger: Logger, timeoutMs: number, close: (reason: string) => Promise<boolean | void>): void {
  closeWithGrace({
    delay: timeoutMs,
    logger: { error: (m: unknown) => logger.error(typeof m === 'string' ? m : { err: m }, 'shutdown') },
    onSecondSignal: (signal: string) => logger.warn({ signal }, 'second signal while shutting down; exiting now'),
  }, async ({ signal, err }) => {
    const started = Date.now()
    if (err) logger.error({ err }, 'uncaught error; shutting down')
    const reason = signal ?? (err ? 'error' : 'exit')
    logger.info({ signal: reason }, 'shutting down')
    const clean = await close(reason)
    logger.info({ clean: clean !== false, tookMs: Date.now() - started }, 'stopped')
    if (clean === false) process.exit(1)
  })
}
