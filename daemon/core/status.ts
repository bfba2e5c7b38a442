/** A camera's state as `<prefix>/<camera>/status` publishes it. */
export type CameraState = 'starting' | 'streaming' | 'reconnecting' | 'ended' | 'error';

export interface CameraStatus {
  state: CameraState;
  fps?: number;
  error?: string;
}
