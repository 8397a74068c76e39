// WebGL2 renderer of a Scene. Every batch is uploaded once per model; pan
// and zoom only change the `u_view` uniform (axis space -> clip space), so
// interaction redraws the current data immediately while the server is asked
// for a refined aggregation. Rasters (density, heatmap) are an R32F texture
// colour-mapped in the fragment shader through a 256x1 RGBA LUT texture.
import type { Scene } from './scene';
import type { View } from './camera';
import { colormapLut, type ColormapName } from './colormap';

export interface Renderer {
  readonly kind: 'webgl2' | 'canvas2d';
  setScene(scene: Scene | null): void;
  draw(view: View, plot: { left: number; top: number; width: number; height: number }, cssW: number, cssH: number, dpr: number): void;
  dispose(): void;
}

const VIEW_UNIFORM = `
uniform vec4 u_view; // scale x, scale y, offset x, offset y: clip = p * s + o
uniform vec2 u_px;   // plot area size in device pixels
`;

const POINT_VS = `#version 300 es
${VIEW_UNIFORM}
uniform float u_size;
in vec2 a_corner; in float a_x; in float a_y; in vec4 a_rgba;
out vec2 v_uv; out vec4 v_rgba;
void main() {
  vec2 c = vec2(a_x, a_y) * u_view.xy + u_view.zw;
  v_uv = a_corner; v_rgba = a_rgba;
  gl_Position = vec4(c + a_corner * u_size / u_px, 0.0, 1.0);
}`;
const POINT_FS = `#version 300 es
precision mediump float;
in vec2 v_uv; in vec4 v_rgba; out vec4 o;
void main() {
  float r = length(v_uv);
  if (r > 1.0) discard;
  float a = v_rgba.a * (1.0 - smoothstep(0.75, 1.0, r));
  o = vec4(v_rgba.rgb * a, a);
}`;
const RECT_VS = `#version 300 es
${VIEW_UNIFORM}
in vec2 a_corner; in float a_x0; in float a_y0; in float a_x1; in float a_y1; in vec4 a_rgba;
out vec4 v_rgba;
void main() {
  vec2 p = mix(vec2(a_x0, a_y0), vec2(a_x1, a_y1), a_corner * 0.5 + 0.5);
  v_rgba = a_rgba;
  gl_Position = vec4(p * u_view.xy + u_view.zw, 0.0, 1.0);
}`;
const SEG_VS = `#version 300 es
${VIEW_UNIFORM}
uniform float u_width;
in vec2 a_corner; in float a_ax; in float a_ay; in float a_bx; in float a_by; in vec4 a_rgba;
out vec4 v_rgba;
void main() {
  vec2 a = vec2(a_ax, a_ay) * u_view.xy + u_view.zw;
  vec2 b = vec2(a_bx, a_by) * u_view.xy + u_view.zw;
  vec2 d = (b - a) * u_px;
  float len = length(d);
  vec2 dir = len > 0.0 ? d / len : vec2(1.0, 0.0);
  vec2 nrm = vec2(-dir.y, dir.x);
  vec2 p = (a_corner.x < 0.0 ? a : b);
  vec2 off = (nrm * a_corner.y * u_width * 0.5 + dir * a_corner.x * u_width * 0.5) / u_px * 2.0;
  v_rgba = a_rgba;
  gl_Position = vec4(p + off, 0.0, 1.0);
}`;
const TRI_VS = `#version 300 es
${VIEW_UNIFORM}
in vec2 a_pos; in vec4 a_rgba; out vec4 v_rgba;
void main() { v_rgba = a_rgba; gl_Position = vec4(a_pos * u_view.xy + u_view.zw, 0.0, 1.0); }`;
const FLAT_FS = `#version 300 es
precision mediump float;
in vec4 v_rgba; out vec4 o;
void main() { o = vec4(v_rgba.rgb * v_rgba.a, v_rgba.a); }`;
const RASTER_VS = `#version 300 es
${VIEW_UNIFORM}
uniform vec4 u_box; // x0, y0, x1, y1 (axis space - origin)
in vec2 a_corner; out vec2 v_uv;
void main() {
  v_uv = a_corner * 0.5 + 0.5;
  vec2 p = mix(u_box.xy, u_box.zw, v_uv);
  gl_Position = vec4(p * u_view.xy + u_view.zw, 0.0, 1.0);
}`;
const RASTER_FS = `#version 300 es
precision highp float;
uniform highp sampler2D u_grid; uniform sampler2D u_lut;
uniform vec2 u_range; uniform int u_log; uniform int u_zero_empty;
in vec2 v_uv; out vec4 o;
void main() {
  float v = texture(u_grid, v_uv).r;
  if (v < -1.0e38 || (u_zero_empty == 1 && v == 0.0)) discard;
  float t;
  if (u_log == 1) {
    if (v <= 0.0) discard;
    float a = log(max(u_range.x, 1e-30)) , b = log(u_range.y);
    t = b > a ? (log(v) - a) / (b - a) : 1.0;
  } else {
    t = u_range.y > u_range.x ? (v - u_range.x) / (u_range.y - u_range.x) : 1.0;
  }
  t = clamp(t, 0.0, 1.0);
  o = texture(u_lut, vec2((t * 255.0 + 0.5) / 256.0, 0.5));
}`;

type Prog = { p: WebGLProgram; u: Record<string, WebGLUniformLocation | null>; a: Record<string, number> };

function compile(gl: WebGL2RenderingContext, vs: string, fs: string): Prog {
  const sh = (type: number, src: string) => {
    const s = gl.createShader(type)!;
    gl.shaderSource(s, src);
    gl.compileShader(s);
    if (!gl.getShaderParameter(s, gl.COMPILE_STATUS)) throw new Error('shader: ' + gl.getShaderInfoLog(s));
    return s;
  };
  const p = gl.createProgram()!;
  gl.attachShader(p, sh(gl.VERTEX_SHADER, vs));
  gl.attachShader(p, sh(gl.FRAGMENT_SHADER, fs));
  gl.linkProgram(p);
  if (!gl.getProgramParameter(p, gl.LINK_STATUS)) throw new Error('link: ' + gl.getProgramInfoLog(p));
  const u: Prog['u'] = {}, a: Prog['a'] = {};
  for (let i = 0; i < gl.getProgramParameter(p, gl.ACTIVE_UNIFORMS); i++) {
    const n = gl.getActiveUniform(p, i)!.name;
    u[n] = gl.getUniformLocation(p, n);
  }
  for (let i = 0; i < gl.getProgramParameter(p, gl.ACTIVE_ATTRIBUTES); i++) {
    const n = gl.getActiveAttrib(p, i)!.name;
    a[n] = gl.getAttribLocation(p, n);
  }
  return { p, u, a };
}

interface Batch { vao: WebGLVertexArrayObject; buffers: WebGLBuffer[]; count: number }

export class GlRenderer implements Renderer {
  readonly kind = 'webgl2' as const;
  private gl: WebGL2RenderingContext;
  private progs: Record<'point' | 'rect' | 'seg' | 'tri' | 'raster', Prog>;
  private corner: WebGLBuffer;
  private lut: WebGLTexture;
  private scene: Scene | null = null;
  private batches: Partial<Record<'point' | 'rect' | 'seg' | 'tri' | 'raster', Batch>> = {};
  private gridTex: WebGLTexture | null = null;

  static create(canvas: HTMLCanvasElement, colormap: ColormapName = 'viridis'): GlRenderer | null {
    const gl = canvas.getContext('webgl2', { antialias: true, premultipliedAlpha: true, alpha: true, preserveDrawingBuffer: true });
    if (!gl) return null;
    try {
      return new GlRenderer(gl, colormap);
    } catch (e) {
      console.warn('WebGL2 renderer failed, using Canvas2D', e);
      return null;
    }
  }

  private constructor(gl: WebGL2RenderingContext, colormap: ColormapName) {
    this.gl = gl;
    this.progs = {
      point: compile(gl, POINT_VS, POINT_FS),
      rect: compile(gl, RECT_VS, FLAT_FS),
      seg: compile(gl, SEG_VS, FLAT_FS),
      tri: compile(gl, TRI_VS, FLAT_FS),
      raster: compile(gl, RASTER_VS, RASTER_FS),
    };
    this.corner = gl.createBuffer()!;
    gl.bindBuffer(gl.ARRAY_BUFFER, this.corner);
    gl.bufferData(gl.ARRAY_BUFFER, new Float32Array([-1, -1, 1, -1, -1, 1, -1, 1, 1, -1, 1, 1]), gl.STATIC_DRAW);
    this.lut = gl.createTexture()!;
    gl.bindTexture(gl.TEXTURE_2D, this.lut);
    gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA8, 256, 1, 0, gl.RGBA, gl.UNSIGNED_BYTE, colormapLut(colormap));
    this.texParams(gl.NEAREST);
  }

  private texParams(filter: number) {
    const gl = this.gl;
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, filter);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, filter);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE);
  }

  private instanced(prog: Prog, attrs: Record<string, Float32Array>, rgba: Uint8Array, count: number): Batch {
    const gl = this.gl;
    const vao = gl.createVertexArray()!;
    gl.bindVertexArray(vao);
    const buffers: WebGLBuffer[] = [];
    const ca = prog.a['a_corner']!;
    gl.bindBuffer(gl.ARRAY_BUFFER, this.corner);
    gl.enableVertexAttribArray(ca);
    gl.vertexAttribPointer(ca, 2, gl.FLOAT, false, 0, 0);
    for (const [name, data] of Object.entries(attrs)) {
      const loc = prog.a[name];
      if (loc === undefined || loc < 0) continue;
      const b = gl.createBuffer()!;
      buffers.push(b);
      gl.bindBuffer(gl.ARRAY_BUFFER, b);
      gl.bufferData(gl.ARRAY_BUFFER, data, gl.STATIC_DRAW);
      gl.enableVertexAttribArray(loc);
      gl.vertexAttribPointer(loc, 1, gl.FLOAT, false, 0, 0);
      gl.vertexAttribDivisor(loc, 1);
    }
    const b = gl.createBuffer()!;
    buffers.push(b);
    gl.bindBuffer(gl.ARRAY_BUFFER, b);
    gl.bufferData(gl.ARRAY_BUFFER, rgba, gl.STATIC_DRAW);
    const rl = prog.a['a_rgba']!;
    gl.enableVertexAttribArray(rl);
    gl.vertexAttribPointer(rl, 4, gl.UNSIGNED_BYTE, true, 0, 0);
    gl.vertexAttribDivisor(rl, 1);
    gl.bindVertexArray(null);
    return { vao, buffers, count };
  }

  private release() {
    const gl = this.gl;
    for (const b of Object.values(this.batches)) {
      if (!b) continue;
      gl.deleteVertexArray(b.vao);
      for (const buf of b.buffers) gl.deleteBuffer(buf);
    }
    this.batches = {};
    if (this.gridTex) gl.deleteTexture(this.gridTex);
    this.gridTex = null;
  }

  setScene(scene: Scene | null): void {
    this.release();
    this.scene = scene;
    if (!scene) return;
    const gl = this.gl;
    const { points, rects, segments, tris, raster } = scene;
    if (points) this.batches.point = this.instanced(this.progs.point, { a_x: points.x, a_y: points.y }, points.rgba, points.n);
    if (rects) this.batches.rect = this.instanced(this.progs.rect, { a_x0: rects.x0, a_y0: rects.y0, a_x1: rects.x1, a_y1: rects.y1 }, rects.rgba, rects.n);
    if (segments) this.batches.seg = this.instanced(this.progs.seg, { a_ax: segments.ax, a_ay: segments.ay, a_bx: segments.bx, a_by: segments.by }, segments.rgba, segments.n);
    if (tris) {
      const prog = this.progs.tri;
      const vao = gl.createVertexArray()!;
      gl.bindVertexArray(vao);
      const pb = gl.createBuffer()!, cb = gl.createBuffer()!;
      gl.bindBuffer(gl.ARRAY_BUFFER, pb);
      gl.bufferData(gl.ARRAY_BUFFER, tris.xy, gl.STATIC_DRAW);
      gl.enableVertexAttribArray(prog.a['a_pos']!);
      gl.vertexAttribPointer(prog.a['a_pos']!, 2, gl.FLOAT, false, 0, 0);
      gl.bindBuffer(gl.ARRAY_BUFFER, cb);
      gl.bufferData(gl.ARRAY_BUFFER, tris.rgba, gl.STATIC_DRAW);
      gl.enableVertexAttribArray(prog.a['a_rgba']!);
      gl.vertexAttribPointer(prog.a['a_rgba']!, 4, gl.UNSIGNED_BYTE, true, 0, 0);
      gl.bindVertexArray(null);
      this.batches.tri = { vao, buffers: [pb, cb], count: tris.n };
    }
    if (raster) {
      this.gridTex = gl.createTexture()!;
      gl.bindTexture(gl.TEXTURE_2D, this.gridTex);
      gl.pixelStorei(gl.UNPACK_ALIGNMENT, 1);
      gl.texImage2D(gl.TEXTURE_2D, 0, gl.R32F, raster.nx, raster.ny, 0, gl.RED, gl.FLOAT, raster.v);
      this.texParams(gl.NEAREST);
      const prog = this.progs.raster;
      const vao = gl.createVertexArray()!;
      gl.bindVertexArray(vao);
      gl.bindBuffer(gl.ARRAY_BUFFER, this.corner);
      gl.enableVertexAttribArray(prog.a['a_corner']!);
      gl.vertexAttribPointer(prog.a['a_corner']!, 2, gl.FLOAT, false, 0, 0);
      gl.bindVertexArray(null);
      this.batches.raster = { vao, buffers: [], count: 1 };
    }
  }

  draw(view: View, plot: { left: number; top: number; width: number; height: number }, cssW: number, cssH: number, dpr: number): void {
    const gl = this.gl;
    const canvas = gl.canvas as HTMLCanvasElement;
    const W = Math.round(cssW * dpr), H = Math.round(cssH * dpr);
    if (canvas.width !== W || canvas.height !== H) {
      canvas.width = W;
      canvas.height = H;
    }
    gl.viewport(0, 0, W, H);
    gl.clearColor(0, 0, 0, 0);
    gl.clear(gl.COLOR_BUFFER_BIT);
    const s = this.scene;
    if (!s) return;
    // draw only inside the plot area
    const vx = Math.round(plot.left * dpr), vy = Math.round((cssH - plot.top - plot.height) * dpr);
    const vw = Math.round(plot.width * dpr), vh = Math.round(plot.height * dpr);
    gl.viewport(vx, vy, vw, vh);
    gl.enable(gl.SCISSOR_TEST);
    gl.scissor(vx, vy, vw, vh);
    gl.enable(gl.BLEND);
    gl.blendFunc(gl.ONE, gl.ONE_MINUS_SRC_ALPHA);
    // axis space minus origin -> clip
    const sx = 2 / (view.x1 - view.x0), sy = 2 / (view.y1 - view.y0);
    const ox = -((view.x0 + view.x1) / 2 - s.origin[0]) * sx;
    const oy = -((view.y0 + view.y1) / 2 - s.origin[1]) * sy;
    const setView = (p: Prog) => {
      gl.useProgram(p.p);
      gl.uniform4f(p.u['u_view']!, sx, sy, ox, oy);
      if (p.u['u_px']) gl.uniform2f(p.u['u_px']!, vw, vh);
    };
    const b = this.batches;
    if (b.raster && s.raster) {
      const p = this.progs.raster;
      setView(p);
      gl.uniform4f(p.u['u_box']!, s.raster.x0, s.raster.y0, s.raster.x1, s.raster.y1);
      gl.uniform2f(p.u['u_range']!, s.raster.lo, s.raster.hi);
      gl.uniform1i(p.u['u_log']!, s.raster.log ? 1 : 0);
      gl.uniform1i(p.u['u_zero_empty']!, s.raster.zeroEmpty ? 1 : 0);
      gl.activeTexture(gl.TEXTURE0);
      gl.bindTexture(gl.TEXTURE_2D, this.gridTex);
      gl.uniform1i(p.u['u_grid']!, 0);
      gl.activeTexture(gl.TEXTURE1);
      gl.bindTexture(gl.TEXTURE_2D, this.lut);
      gl.uniform1i(p.u['u_lut']!, 1);
      gl.bindVertexArray(b.raster.vao);
      gl.drawArrays(gl.TRIANGLES, 0, 6);
    }
    if (b.rect) {
      setView(this.progs.rect);
      gl.bindVertexArray(b.rect.vao);
      gl.drawArraysInstanced(gl.TRIANGLES, 0, 6, b.rect.count);
    }
    if (b.tri) {
      setView(this.progs.tri);
      gl.bindVertexArray(b.tri.vao);
      gl.drawArrays(gl.TRIANGLES, 0, b.tri.count);
    }
    if (b.seg && s.segments) {
      const p = this.progs.seg;
      setView(p);
      gl.uniform1f(p.u['u_width']!, s.segments.width * dpr);
      gl.bindVertexArray(b.seg.vao);
      gl.drawArraysInstanced(gl.TRIANGLES, 0, 6, b.seg.count);
    }
    if (b.point && s.points) {
      const p = this.progs.point;
      setView(p);
      gl.uniform1f(p.u['u_size']!, s.points.size * dpr);
      gl.bindVertexArray(b.point.vao);
      gl.drawArraysInstanced(gl.TRIANGLES, 0, 6, b.point.count);
    }
    gl.bindVertexArray(null);
    gl.disable(gl.SCISSOR_TEST);
  }

  dispose(): void {
    this.release();
    this.gl.getExtension('WEBGL_lose_context')?.loseContext();
  }
}
