import { describe, expect, it } from 'vitest';
import type { CameraStats } from '../../daemon/service/camera-pipeline.js';
import { PrometheusText, renderMetrics, type CameraView, type ServiceView } from '../../daemon/service/metrics.js';
import { LATENCY_BUCKETS_MS, LatencyStats } from '../../daemon/service/rate.js';

function stats(over: Partial<CameraStats>): CameraStats {
  return {
    state: 'streaming',
    fps: 0,
    frames: 0,
    inferred: 0,
    dropped: 0,
    reconnects: 0,
    queue_depth: 0,
    inference_ms: 0,
    preprocess_ms: 0,
    postprocess_ms: 0,
    draw_ms: 0,
    encode_ms: 0,
    recording: null,
    recording_error: null,
    ...over,
  };
}

function camera(name: string, state: CameraView['state'], s: Partial<CameraStats>, latencies: number[] = []): CameraView {
  const inf = new LatencyStats();
  for (const v of latencies) inf.add(v);
  return {
    name,
    state,
    stats: state === 'stopped' ? null : stats({ state, ...s }),
    decoded: (s.frames ?? 0) + (s.dropped ?? 0),
    inference: inf.histogram(),
    error: null,
    progress: s.frames ?? 0,
  };
}

/** name{labels} -> value, for every sample line; throws on a line the exposition format does not allow. */
function parseExposition(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  const declared = new Set<string>();
  expect(text.endsWith('\n')).toBe(true);
  for (const line of text.trimEnd().split('\n')) {
    const help = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .+$/.exec(line);
    const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram)$/.exec(line);
    if (help) continue;
    if (type) {
      declared.add(type[1]);
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*",?)*\})? (-?[0-9.e+-]+|\+Inf|NaN)$/.exec(line);
    if (!m) throw new Error(`not a valid exposition line: ${JSON.stringify(line)}`);
    const family = m[1].replace(/_(bucket|sum|count)$/, '');
    if (!declared.has(m[1]) && !declared.has(family)) throw new Error(`sample before its TYPE line: ${line}`);
    samples.set(`${m[1]}${m[2] ?? ''}`, Number(m[3]));
  }
  return samples;
}

describe('LatencyStats.histogram', () => {
  it('counts every sample into cumulative buckets, overflow only in the total', () => {
    const s = new LatencyStats(4); // a small sample cap must not affect the histogram
    const values = [0.5, 3, 3, 1, 7000, 20000, 2.5];
    for (const v of values) s.add(v);
    const h = s.histogram();
    expect(h.bounds_ms).toEqual(LATENCY_BUCKETS_MS);
    expect(h.count).toBe(values.length);
    expect(h.sum_ms).toBeCloseTo(values.reduce((a, b) => a + b, 0));
    h.bounds_ms.forEach((b, i) => expect(h.counts[i]).toBe(values.filter((v) => v <= b).length));
  });

  it('percentiles come from the newest `cap` samples (a ring), the mean from all of them; reset forgets both', () => {
    const s = new LatencyStats(4);
    expect(s.percentile(50)).toBe(0);
    for (const v of [5, 1, 3]) s.add(v); // not full yet
    expect([s.percentile(50), s.percentile(99)]).toEqual([3, 5]);
    for (let v = 1; v <= 10; v++) s.add(v); // the ring now holds 7, 8, 9, 10
    expect([s.percentile(50), s.percentile(99)]).toEqual([8, 10]);
    expect(s.mean).toBeCloseTo((5 + 1 + 3 + 55) / 13, 2);
    s.reset();
    expect([s.count, s.mean, s.percentile(99)]).toEqual([0, 0, 0]);
    s.add(42);
    expect(s.summary()).toEqual({ mean_ms: 42, p50_ms: 42, p99_ms: 42, count: 1 });
  });
});

describe('PrometheusText', () => {
  it('escapes label values and writes nothing for an empty family', () => {
    const t = new PrometheusText().gauge('x_value', 'A value.', [[{ camera: 'a"b\\c\nd' }, 1.5]]).counter('y_total', 'Nothing.', []);
    expect(t.toString()).toBe('# HELP x_value A value.\n# TYPE x_value gauge\nx_value{camera="a\\"b\\\\c\\nd"} 1.5\n');
  });
});

describe('renderMetrics', () => {
  const view: ServiceView = {
    cameras: () => [
      camera('front', 'streaming', { frames: 120, inferred: 60, dropped: 7, fps: 12.5, reconnects: 2, queue_depth: 3 }, [12, 18, 30, 700]),
      camera('yard', 'reconnecting', { frames: 5, reconnects: 4 }),
      camera('garage', 'stopped', {}),
    ],
    mqtt: () => ({ connected: true, queued: 4, dropped: 9, published: 1234, reconnects: 1 }),
    rtspClients: () => ({ front: 2, yard: 0 }),
  };
  const text = renderMetrics(view, {
    rssBytes: 123456789,
    heap: { usedBytes: 20e6, totalBytes: 50e6, externalBytes: 90e6, arrayBuffersBytes: 85e6 },
    startTimeSeconds: 1790000000,
    loopDelay: { p99_ms: 12, max_ms: 40 },
  });
  const samples = parseExposition(text);

  it('reports recording per camera that records: 1 while writing, 0 while failed, with the failures counted', () => {
    const rec: ServiceView = {
      cameras: () => [
        camera('front', 'streaming', { recording_enabled: true, recording: '/rec/front/2026-12-03/10-00-00.mp4', recording_errors: 1 }),
        camera('yard', 'streaming', {
          recording_enabled: true,
          recording: null,
          recording_error: 'recording stopped: No space left on device',
          recording_errors: 3,
        }),
        camera('door', 'streaming', { recording_enabled: false }),
      ],
      mqtt: () => null,
    };
    const s = parseExposition(renderMetrics(rec, { rssBytes: 1, startTimeSeconds: 1, loopDelay: { p99_ms: 0, max_ms: 0 } }));
    expect(s.get('trt_detect_recording{camera="front"}')).toBe(1);
    expect(s.get('trt_detect_recording{camera="yard"}')).toBe(0);
    expect(s.get('trt_detect_recording_errors_total{camera="front"}')).toBe(1);
    expect(s.get('trt_detect_recording_errors_total{camera="yard"}')).toBe(3);
    expect(s.has('trt_detect_recording{camera="door"}')).toBe(false);
    expect(s.get('trt_detect_video_consumers{camera="front"}')).toBe(0);
  });

  it('is valid exposition format 0.0.4 with per-camera frame counters', () => {
    expect(samples.get('trt_detect_frames_processed_total{camera="front"}')).toBe(120);
    expect(samples.get('trt_detect_frames_decoded_total{camera="front"}')).toBe(127);
    expect(samples.get('trt_detect_frames_inferred_total{camera="front"}')).toBe(60);
    expect(samples.get('trt_detect_frames_dropped_total{camera="front"}')).toBe(7);
    expect(samples.get('trt_detect_camera_fps{camera="front"}')).toBe(12.5);
    expect(samples.get('trt_detect_queue_depth{camera="front"}')).toBe(3);
    expect(samples.get('trt_detect_source_reconnects_total{camera="yard"}')).toBe(4);
    // a camera without a pipeline has a state but no counters
    expect(samples.get('trt_detect_camera_state{camera="garage",state="stopped"}')).toBe(1);
    expect(samples.has('trt_detect_frames_processed_total{camera="garage"}')).toBe(false);
  });

  it('exports exactly one state per camera', () => {
    for (const [name, state] of [
      ['front', 'streaming'],
      ['yard', 'reconnecting'],
      ['garage', 'stopped'],
    ]) {
      const set = [...samples].filter(([k]) => k.startsWith(`trt_detect_camera_state{camera="${name}"`));
      expect(set.filter(([, v]) => v === 1).map(([k]) => k)).toEqual([`trt_detect_camera_state{camera="${name}",state="${state}"}`]);
    }
  });

  it('has a cumulative inference histogram in seconds', () => {
    const buckets = [...samples].filter(([k]) => k.startsWith('trt_detect_inference_seconds_bucket{camera="front"'));
    expect(buckets.length).toBe(LATENCY_BUCKETS_MS.length + 1);
    const values = buckets.map(([, v]) => v);
    expect([...values].sort((a, b) => a - b)).toEqual(values);
    expect(samples.get('trt_detect_inference_seconds_bucket{camera="front",le="0.025"}')).toBe(2);
    expect(samples.get('trt_detect_inference_seconds_bucket{camera="front",le="+Inf"}')).toBe(4);
    expect(samples.get('trt_detect_inference_seconds_count{camera="front"}')).toBe(4);
    expect(samples.get('trt_detect_inference_seconds_sum{camera="front"}')).toBeCloseTo(0.76);
  });

  it('has the MQTT queue and the process figures', () => {
    expect(samples.get('trt_detect_mqtt_connected')).toBe(1);
    expect(samples.get('trt_detect_mqtt_queue_depth')).toBe(4);
    expect(samples.get('trt_detect_mqtt_dropped_total')).toBe(9);
    expect(samples.get('trt_detect_mqtt_published_total')).toBe(1234);
    expect(samples.get('trt_detect_mqtt_reconnects_total')).toBe(1);
    expect(samples.get('process_resident_memory_bytes')).toBe(123456789);
    expect(samples.get('nodejs_heap_size_used_bytes')).toBe(20e6);
    expect(samples.get('nodejs_heap_size_total_bytes')).toBe(50e6);
    expect(samples.get('nodejs_external_memory_bytes')).toBe(90e6);
    expect(samples.get('nodejs_array_buffers_bytes')).toBe(85e6);
    expect(samples.get('trt_detect_event_loop_delay_p99_seconds')).toBe(0.012);
    expect(samples.get('trt_detect_event_loop_delay_max_seconds')).toBe(0.04);
  });

  it("counts the clients of each camera's RTSP output", () => {
    expect(samples.get('trt_detect_rtsp_clients{camera="front"}')).toBe(2);
    expect(samples.get('trt_detect_rtsp_clients{camera="yard"}')).toBe(0);
    expect(text).toContain('# TYPE trt_detect_rtsp_clients gauge');
  });

  it('leaves MQTT out when it is disabled', () => {
    const t = renderMetrics({ cameras: () => [], mqtt: () => null }, { rssBytes: 1, startTimeSeconds: 1, loopDelay: { p99_ms: 0, max_ms: 0 } });
    expect(t).not.toContain('trt_detect_mqtt_');
    expect(t).not.toContain('trt_detect_rtsp_clients'); // no RTSP server: no family
    expect(parseExposition(t).get('process_resident_memory_bytes')).toBe(1);
    expect(t).not.toContain('nodejs_heap'); // no heap figures passed: none reported
  });
});
