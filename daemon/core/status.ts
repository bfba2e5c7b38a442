/** A camera's state as `<prefix>/<camera>/status` publishes it. */
export type CameraState = 'starting' | 'streaming' | 'reconnecting' | 'ended' | 'error';

export interface CameraStatus {
  /** `offline`: the daemon does not run the camera (published on a clean stop, and at start for a previous run's cameras) */
  state: CameraState | 'offline';
  fps?: number;
  error?: string;
}
