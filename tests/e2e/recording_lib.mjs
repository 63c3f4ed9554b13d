// Checks of a recorded MP4 shared by the recording tests: ffprobe's view of its streams, decode
// timestamps that never go backwards, and `ffmpeg -v error -xerror` decoding every track
// without a word (exit 0 and nothing printed at all: execFileSync would have dropped stderr).

import { spawnSync } from 'node:child_process';

// Runs a tool to the end; {status, stdout, stderr}. Throws when it cannot be started.
function run(tool, args) {
  const r = spawnSync(tool, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 256 << 20 });
  if (r.error) throw new Error(`${tool} could not run: ${r.error.message}`);
  return r;
}

function ffprobeJson(file, args) {
  const r = run('ffprobe', ['-v', 'error', ...args, '-of', 'json', file]);
  if (r.status !== 0 || r.stderr.trim()) throw new Error(`ffprobe ${file} exited ${r.status}: ${r.stderr.trim()}`);
  return JSON.parse(r.stdout);
}

// The file's streams ({index, type, codec, name, duration, width}) and its duration.
export function probeRecording(file) {
  const p = ffprobeJson(file, ['-show_streams', '-show_format']);
  const streams = p.streams.map((st) => ({ index: st.index, type: st.codec_type, codec: st.codec_name,
    name: st.tags && st.tags.handler_name, duration: Number(st.duration), width: st.width }));
  return { streams, duration: Number(p.format.duration) };
}

// Throws unless no stream's decode timestamps ever go backwards; returns how many packets.
export function assertDtsForward(file) {
  const pk = ffprobeJson(file, ['-show_entries', 'packet=stream_index,dts_time']);
  const last = new Map();
  for (const p of pk.packets) {
    const d = Number(p.dts_time);
    if (last.has(p.stream_index) && d < last.get(p.stream_index)) {
      throw new Error(`${file}: stream ${p.stream_index}'s decode timestamps went back from ${last.get(p.stream_index)} to ${d}`);
    }
    last.set(p.stream_index, d);
  }
  return pk.packets.length;
}

// Throws unless `ffmpeg -v error -xerror` decodes every track, exits 0 and prints nothing.
// `-enc_time_base -1`: the null output's encoders keep the file's time base (1/90000 for video).
// By default ffmpeg 5.1 re-times video to 1 / its guess of the frame rate (the average, for a
// variable-rate track such as a loaded browser's camera), and two frames closer together than
// that collide in its own muxer: "Application provided invalid, non monotonically increasing
// dts to muxer", printed at error level with exit 0, about ffmpeg's re-timing, not the file
// (whose decode timestamps assertDtsForward checks).
export function assertDecodesClean(file) {
  const r = run('ffmpeg', ['-nostdin', '-v', 'error', '-xerror', '-i', file, '-map', '0', '-enc_time_base', '-1',
    '-f', 'null', '-']);
  const said = `${r.stdout}${r.stderr}`.trim();
  if (r.status !== 0 || said) {
    throw new Error(`ffmpeg -xerror on ${file}: exit ${r.status ?? r.signal}${said ? `, printed: ${said.slice(0, 2000)}` : ''}`);
  }
}
