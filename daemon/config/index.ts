export type { CameraConfig, Config, DetectSettings, HttpAuthConfig, ModelConfig, MqttConfig, RecordConfig, Triple } from './types.js';
export { defaultConfigPath, loadConfig, parseConfig, sourceFilePath, type LoadOptions } from './load.js';
export { maskSecrets, registerConfigSecrets } from './secrets.js';
export { diffConfigs, sameValue, type ConfigDiff } from './diff.js';
export { configSchema, sourceProblem } from './config-schema.js';
