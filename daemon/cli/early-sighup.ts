/**
 * SIGHUP before the daemon is ready to reload: Node's default action for SIGHUP is to exit (129),
 * so a `systemctl reload` or `kill -HUP` in the first moments of `run` (while the modules and the
 * config load) would kill it. `holdSighup` (first thing in main, before `run` is even imported)
 * takes the signal and notes when it came; `takeSighup` hands it to the real handler and tells
 * whether one came meanwhile.
 */
let heldAt: number | null = null;
const hold = () => {
  heldAt = Date.now();
};

export function holdSighup(): void {
  process.on('SIGHUP', hold);
}

/** Installs `handler` for SIGHUP; returns when the last SIGHUP held before it came (ms epoch), or null. */
export function takeSighup(handler: () => void): number | null {
  process.off('SIGHUP', hold);
  process.on('SIGHUP', handler);
  const at = heldAt;
  heldAt = null;
  return at;
}
