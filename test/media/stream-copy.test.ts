import { spawn } from 'node:child_process';
import { PassThrough, type Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { StreamCopy, type CopiedPacket } from '../../daemon/media/stream-copy.js';

/** ffmpeg's copy output (media/stream-copy.ts COPY_OUTPUT_ARGS, on stdout here) of a test pattern in `codec`. */
function copyOf(codec: string): Readable {
  const p = spawn(
    'ffmpeg',
    ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=10', '-frames:v', '10', '-c:v', codec, '-f', 'matroska', 'pipe:1'],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  return p.stdout;
}

describe('StreamCopy', () => {
  it('hands on packets from the first keyframe with times after the base', async () => {
    const copy = new StreamCopy();
    const got: CopiedPacket[] = [];
    copy.listener = { packet: (p) => void got.push(p), unsupported: (why) => expect.fail(why) };
    await copy.connect(copyOf('libx264'), 5);
    expect(got).toHaveLength(10);
    expect(got[0]).toMatchObject({ keyframe: true, pts: 5, track: { codec: 'h264', width: 160, height: 120 } });
    expect(copy.baseFor(0, 0.1)).toBeCloseTo(Math.max(...got.map((p) => p.pts)) + 0.1, 6);
  });

  it('a codec segments cannot store, or a stream it cannot read, is said once, also to a listener that comes later', async () => {
    const copy = new StreamCopy();
    await copy.connect(copyOf('mjpeg'), 0); // a live camera's packets come before its sink
    const said: string[] = [];
    copy.listener = { packet: () => expect.fail('no packet of a refused codec'), unsupported: (why) => said.push(why) };
    expect(said).toEqual(['the camera sends MJPEG, which segments cannot store by stream copy (H.264 and H.265 can)']);
    await copy.connect(copyOf('mjpeg'), 1);
    expect(said).toHaveLength(1);

    const broken = new StreamCopy();
    const heard: string[] = [];
    broken.listener = { packet: () => undefined, unsupported: (why) => heard.push(why) };
    const pipe = new PassThrough();
    const done = broken.connect(pipe, 0);
    pipe.end(Buffer.from([0x00, 0x00, 0x00]));
    await done;
    expect(heard).toEqual([expect.stringMatching(/^the camera's stream copy cannot be read \(Matroska: invalid element header/)]);
  });
});
