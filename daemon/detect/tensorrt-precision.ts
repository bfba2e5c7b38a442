/**
 * Which precision a TensorRT build really uses. A GPU without fast INT8 (Jetson Nano: Maxwell,
 * sm_53) or without fast FP16 falls back to the next precision, int8 -> fp16 -> fp32, with one
 * warning; with `strict` the request is refused instead (ConfigError, exit 2).
 */
import { ConfigError } from '../core/errors.js';
import type { Precision } from './tensorrt-engine-cache.js';

export interface PrecisionCaps {
  fastFp16: boolean;
  fastInt8: boolean;
  gpuName: string;
  computeCapability: string;
}

export interface PrecisionChoice {
  precision: Precision;
  /** one line when the requested precision was not used */
  warning: string | null;
}

export function resolvePrecision(requested: Precision, caps: PrecisionCaps, strict: boolean): PrecisionChoice {
  const gpu = `${caps.gpuName} (sm ${caps.computeCapability})`;
  const supported = (p: Precision) => p === 'fp32' || (p === 'fp16' && caps.fastFp16) || (p === 'int8' && caps.fastInt8);
  if (supported(requested)) return { precision: requested, warning: null };
  const fastName = requested === 'int8' ? 'INT8' : 'FP16';
  if (strict) {
    throw new ConfigError(
      `model.precision: ${requested} requested with model.strict_precision: true, but ${gpu} has no fast ${fastName} (set precision: ${caps.fastFp16 ? 'fp16' : 'fp32'} or strict_precision: false)`,
    );
  }
  const chosen: Precision = requested === 'int8' && caps.fastFp16 ? 'fp16' : 'fp32';
  return {
    precision: chosen,
    warning: `${gpu} has no fast ${fastName}: building ${chosen} instead of ${requested} (set model.precision: ${chosen} to silence this, or strict_precision: true to refuse)`,
  };
}
