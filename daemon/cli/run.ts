import type { Config } from '../config/index.js';
import { diffConfigs, loadConfig, defaultConfigPath, registerConfigSecrets } from '../config/index.js';
import { UserError, errorMessage } from '../core/errors.js';
import { createAuth, type Auth } from '../service/auth.js';
import { Daemon } from '../service/daemon.js';
import { HttpServer, type WebRoutes } from '../service/http-server.js';
import { WebApi } from '../service/web-api.js';
import { WebStatic } from '../service/web-static.js';
import { createLogger, silentLogger, type Logger } from '../core/log.js';
import { daemonView, type ServiceView } from '../service/metrics.js';
import { ServiceNotifier, statusSummary, untilSourcesStarted } from '../service/notify.js';
import { parseCommandArgs, type Command } from './args.js';
import { takeSighup } from './early-sighup.js';

const HELP = `Usage: trt-detect run [-c FILE] [--exit-when-done]

Runs the daemon: every enabled camera in the config is decoded, run through the detector,
recorded with boxes drawn in, and published over MQTT. Logs are JSON lines on stdout.
Serves /healthz and /metrics on http.host:http.port when http.enabled; everything but
/healthz needs the http.auth credentials (generated into the state folder on the first start
when none are configured; RTSP clients use the same ones). Under systemd
(Type=notify) it reports READY=1 once running and pings the watchdog while cameras progress.
SIGHUP re-reads the config (systemctl reload); SIGTERM/SIGINT stop cleanly.

Options:
  -c, --config FILE     config file (default /etc/trt-detect/config.yaml, else ./config/config.yaml)
  --exit-when-done      stop cleanly once every source has ended (file sources)
  -h, --help            this help

Exit codes: 0 clean stop, 1 fatal runtime error, 2 bad config or arguments.
`;

/** How long READY=1 waits for the sources to open (an RTSP camera may be slow or away). */
const SOURCES_START_WAIT_MS = 20_000;

/** The web UI and its API (http.ui) over the running daemon. */
function webRoutes(daemon: Daemon, view: ServiceView, logger: Logger, auth: Auth): WebRoutes {
  const api = new WebApi(daemon, view, logger, auth.enabled);
  const ui = new WebStatic();
  return {
    handle: (req, res, path, query) => api.handle(req, res, path, query) || ui.handle(req, res, path),
    upgrade: (req, socket, head, path) => api.upgrade(req, socket, head, path),
    close: () => api.live.close(),
  };
}

function startHttp(config: Config, configPath: string, view: ServiceView, logger: Logger, daemon: Daemon, auth: Auth): Promise<HttpServer | null> {
  if (!config.http.enabled) return Promise.resolve(null);
  return HttpServer.listen({
    host: config.http.host,
    port: config.http.port,
    view,
    logger,
    configPath,
    calibration: daemon.calibration,
    auth,
    maxConnections: config.http.max_connections,
    web: config.http.ui ? webRoutes(daemon, view, logger, auth) : undefined,
  }).then((server) => {
    const who = auth.enabled ? `, user "${auth.username}", password from ${auth.passwordSource}` : ', no authentication';
    const what = config.http.ui ? 'the web UI (/), /api/, /healthz, /metrics and /calibration/capture' : '/healthz, /metrics and /calibration/capture';
    logger.info({ host: config.http.host, port: server.port, auth: auth.enabled }, `http: ${what} on ${config.http.host}:${server.port}${who}`);
    return server;
  });
}

/** The Auth of a config: http.auth, also asked of RTSP clients; disabled when neither HTTP nor RTSP is on. */
function authOf(config: Config, logger: Logger): Auth {
  const served = config.http.enabled || config.rtsp_server.enabled;
  return createAuth(served ? config.http.auth : { ...config.http.auth, enabled: false }, config.state_dir, served ? logger : silentLogger());
}

export const runCommand: Command = async (argv) => {
  const { values } = parseCommandArgs('run', argv, {
    config: { type: 'string', short: 'c' },
    'exit-when-done': { type: 'boolean' },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const configPath = values.config ?? defaultConfigPath();
  const configReadAt = Date.now();
  const config = loadConfig(configPath);
  registerConfigSecrets(config);
  const logger = createLogger(config.log.level);
  // the notifier exists before the daemon opens the model: a first-start engine build keeps extending systemd's start timeout
  let notifier: ServiceNotifier | null = null;
  const onEngineBuild = (building: boolean) => notifier?.longStep(building ? 'building the TensorRT engine' : null);
  let auth = authOf(config, logger);
  const daemon = new Daemon({ config, logger, exitWhenDone: Boolean(values['exit-when-done']), onEngineBuild, rtspAuth: auth.rtsp });
  const view = daemonView(daemon);
  notifier = new ServiceNotifier({ view, logger });
  let http: HttpServer | null = null;
  let stopRequested: ((reason: string) => void) | null = null;
  const stopSignal = new Promise<string>((resolve) => (stopRequested = resolve));
  const onSignal = (sig: NodeJS.Signals) => stopRequested?.(sig);
  // the daemon runs until a signal even when nothing else holds the event loop open (every camera
  // ended or failed, MQTT/HTTP/RTSP off): a pending promise alone would let Node exit with 0
  const keepAlive = setInterval(() => undefined, 1 << 30);
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  /** After a reload: the HTTP endpoint follows a changed `http` section; a failure keeps the daemon running. */
  const reconfigureHttp = async (next: Config) => {
    await http?.close();
    http = null;
    try {
      http = await startHttp(next, configPath, view, logger, daemon, auth);
    } catch (err) {
      logger.error({ err: errorMessage(err) }, `${errorMessage(err)}; /healthz and /metrics are off until the next reload`);
    }
  };

  // SIGHUP (systemctl reload): re-read and validate; a broken config is rejected, the old one keeps running
  let reloading = Promise.resolve();
  let stopping = false;
  const onHup = () => {
    reloading = reloading.then(async () => {
      if (stopping) return;
      notifier.reloading();
      try {
        let next;
        try {
          next = loadConfig(configPath);
          registerConfigSecrets(next);
        } catch (err) {
          logger.error({ err: errorMessage(err) }, `reload rejected: ${errorMessage(err).split('\n')[0]} (the running config stays)`);
          return;
        }
        const authChanged = ['http', 'rtsp_server', 'state_dir'].some((k) => diffConfigs(daemon.activeConfig, next).globalChanged.includes(k));
        if (authChanged) {
          try {
            auth = authOf(next, logger);
            daemon.setRtspAuth(auth.rtsp);
          } catch (err) {
            logger.error({ err: errorMessage(err) }, `reload rejected: ${errorMessage(err)} (the running config stays)`);
            return;
          }
        }
        try {
          const diff = await daemon.reload(next);
          if (diff.globalChanged.includes('http') || diff.globalChanged.includes('state_dir')) await reconfigureHttp(next);
        } catch (err) {
          logger.error({ err: errorMessage(err) }, 'reload failed (the running config stays)');
        }
      } finally {
        notifier.reloaded();
      }
    });
  };
  // a SIGHUP that came after the config was read (while the modules loaded) is a reload to do now
  const early = takeSighup(onHup);
  if (early !== null && early >= configReadAt) onHup();
  try {
    try {
      notifier.status('starting: opening the HTTP endpoint, the model, MQTT and the cameras');
      http = await startHttp(config, configPath, view, logger, daemon, auth);
      const started = daemon.start().then(() => null);
      const stopFirst = await Promise.race([started, stopSignal]);
      if (stopFirst !== null) {
        // SIGTERM while the model opens (a TensorRT engine build takes minutes on a Nano and cannot
        // be interrupted): no camera, recording or MQTT session exists yet, so there is nothing
        // to finalize. Exit now rather than into systemd's SIGKILL; the next start removes the
        // build's partial file (tensorrt-backend.ts) and builds again.
        notifier.stopping(stopFirst);
        logger.info({ reason: stopFirst }, 'stop requested while starting: exiting before the model finished opening');
        process.exit(0);
      }
      await Promise.race([untilSourcesStarted(view, SOURCES_START_WAIT_MS), stopSignal]);
    } catch (err) {
      if (err instanceof UserError) logger.error({ err: err.message }, 'startup failed');
      await daemon.stop('startup failed');
      await http?.close();
      throw err;
    }
    notifier.ready();
    logger.info({ cameras: Object.keys(config.cameras).length, status: statusSummary(view.cameras()), watchdog_ms: notifier.watchdogMs }, 'running');
    const ALL_ENDED = 'all sources ended';
    const reason = values['exit-when-done'] ? await Promise.race([daemon.whenSourcesDone().then(() => ALL_ENDED), stopSignal]) : await stopSignal;
    stopping = true;
    notifier.stopping(reason);
    await reloading;
    const [code] = await Promise.all([daemon.stop(reason, reason === ALL_ENDED), http?.close()]);
    logger.info({ code }, 'stopped');
    return code;
  } catch (err) {
    if (!(err instanceof UserError)) logger.error({ err: errorMessage(err) }, 'fatal error');
    throw err;
  } finally {
    clearInterval(keepAlive);
    notifier.close();
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    process.off('SIGHUP', onHup);
    // a SIGHUP while the process winds down must not turn exit 0 into 129
    process.on('SIGHUP', () => undefined);
  }
};
