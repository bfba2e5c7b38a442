import { loadConfig, defaultConfigPath } from '../config/index.js';
import { UserError, errorMessage } from '../errors.js';
import { Daemon } from '../service/daemon.js';
import { createLogger } from '../service/log.js';
import { parseCommandArgs, type Command } from './args.js';

const HELP = `Usage: trt-detect run [-c FILE] [--exit-when-done]

Runs the daemon: every enabled camera in the config is decoded, run through the detector,
recorded with boxes drawn in, and published over MQTT. Logs are JSON lines on stdout.

Options:
  -c, --config FILE     config file (default /etc/trt-detect/config.yaml, else ./config/config.yaml)
  --exit-when-done      stop cleanly once every source has ended (file sources)
  -h, --help            this help

Exit codes: 0 clean stop, 1 fatal runtime error, 2 bad config or arguments.
`;

export const runCommand: Command = async (argv) => {
  const { values } = parseCommandArgs('run', argv, {
    config: { type: 'string', short: 'c' },
    'exit-when-done': { type: 'boolean' },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const configPath = (values.config as string | undefined) ?? defaultConfigPath();
  const config = loadConfig(configPath);
  const logger = createLogger(config.log.level);
  const daemon = new Daemon({ config, logger, exitWhenDone: Boolean(values['exit-when-done']) });
  let stopRequested: ((reason: string) => void) | null = null;
  const stopSignal = new Promise<string>((resolve) => (stopRequested = resolve));
  const onSignal = (sig: NodeJS.Signals) => stopRequested?.(sig);
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  // SIGHUP (systemctl reload): re-read and validate; a broken config is rejected, the old one keeps running
  let reloading = Promise.resolve();
  const onHup = () => {
    reloading = reloading.then(async () => {
      let next;
      try {
        next = loadConfig(configPath);
      } catch (err) {
        logger.error({ err: errorMessage(err) }, `reload rejected: ${errorMessage(err).split('\n')[0]} (the running config stays)`);
        return;
      }
      try {
        await daemon.reload(next);
      } catch (err) {
        logger.error({ err: errorMessage(err) }, 'reload failed (the running config stays)');
      }
    });
  };
  process.on('SIGHUP', onHup);
  try {
    try {
      await daemon.start();
    } catch (err) {
      if (err instanceof UserError) logger.error({ err: err.message }, 'startup failed');
      await daemon.stop('startup failed');
      throw err;
    }
    logger.info({ cameras: Object.keys(config.cameras).length }, 'running');
    const reason = values['exit-when-done']
      ? await Promise.race([daemon.whenSourcesDone().then(() => 'all sources ended'), stopSignal])
      : await stopSignal;
    const code = await daemon.stop(reason);
    logger.info({ code }, 'stopped');
    return code;
  } catch (err) {
    if (!(err instanceof UserError)) logger.error({ err: errorMessage(err) }, 'fatal error');
    throw err;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    process.off('SIGHUP', onHup);
  }
};
