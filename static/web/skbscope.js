"use strict";
// skbDraw paints one frame of the stack map. Go (web/draw.go) encodes the
// whole frame into one byte buffer, so a frame costs one call across the
// WebAssembly boundary however many boxes and cards it holds. The opcodes
// and field layout here must match web/draw.go.
(function () {
  const decoder = new TextDecoder();
  const colours = new Map();

  function colour(v) {
    let s = colours.get(v);
    if (s === undefined) {
      s = "rgba(" + (v >>> 24) + "," + ((v >>> 16) & 255) + "," +
        ((v >>> 8) & 255) + "," + ((v & 255) / 255).toFixed(3) + ")";
      colours.set(v, s);
    }
    return s;
  }

  const fonts = [
    "11px system-ui, sans-serif",
    "bold 11px system-ui, sans-serif",
    "11px ui-monospace, monospace",
    "bold 11px ui-monospace, monospace",
  ];

  // font strings by flags and size: setting a canvas font parses it, so a
  // frame sets it only when it changes, and never builds it twice.
  const fontCache = new Map();
  function font(flags, size) {
    const k = (flags & 3) + ":" + size;
    let s = fontCache.get(k);
    if (s === undefined) {
      s = fonts[flags & 3].replace("11px", size + "px");
      fontCache.set(k, s);
    }
    return s;
  }

  // It returns whether it drew: false while the page has no canvas yet
  // (the animator then tries again on the next frame).
  window.skbDraw = function (id, bytes, n) {
    const canvas = document.getElementById(id);
    if (!canvas) {
      return false;
    }
    const g = canvas.getContext("2d");
    let curFont = "", curAlign = "";
    const v = new DataView(bytes.buffer, bytes.byteOffset, n);
    let p = 0;
    const f = () => { const x = v.getFloat32(p, true); p += 4; return x; };
    const u = () => { const x = v.getUint32(p, true); p += 4; return x; };
    while (p < n) {
      switch (v.getUint8(p++)) {
        case 1: { // clear
          const w = f(), h = f(), c = u();
          const dpr = window.devicePixelRatio || 1;
          if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
            canvas.width = Math.round(w * dpr);
            canvas.height = Math.round(h * dpr);
            curFont = curAlign = ""; // resizing resets the context's state
          }
          g.setTransform(dpr, 0, 0, dpr, 0, 0);
          g.fillStyle = colour(c);
          g.fillRect(0, 0, w, h);
          break;
        }
        case 2: { // rect
          const x = f(), y = f(), w = f(), h = f(), r = f(), fill = u(), stroke = u(), lw = f();
          g.beginPath();
          if (r > 0 && g.roundRect) {
            g.roundRect(x, y, w, h, r);
          } else {
            g.rect(x, y, w, h);
          }
          if (fill & 255) {
            g.fillStyle = colour(fill);
            g.fill();
          }
          if ((stroke & 255) && lw > 0) {
            g.strokeStyle = colour(stroke);
            g.lineWidth = lw;
            g.stroke();
          }
          break;
        }
        case 3: { // text
          const x = f(), y = f(), size = f(), c = u();
          const flags = v.getUint8(p++), align = v.getUint8(p++);
          const maxW = f();
          const len = v.getUint16(p, true);
          p += 2;
          const s = decoder.decode(bytes.subarray(p, p + len));
          p += len;
          const fs = font(flags, size);
          if (fs !== curFont) {
            g.font = curFont = fs;
          }
          g.fillStyle = colour(c);
          const ta = align === 1 ? "center" : align === 2 ? "right" : "left";
          if (ta !== curAlign) {
            g.textAlign = curAlign = ta;
          }
          if (maxW > 0) {
            g.fillText(s, x, y, maxW);
          } else {
            g.fillText(s, x, y);
          }
          break;
        }
        case 4: { // line
          const x1 = f(), y1 = f(), x2 = f(), y2 = f(), c = u(), lw = f();
          const dash = v.getUint8(p++);
          g.beginPath();
          g.setLineDash(dash ? [4, 3] : []);
          g.moveTo(x1, y1);
          g.lineTo(x2, y2);
          g.strokeStyle = colour(c);
          g.lineWidth = lw;
          g.stroke();
          g.setLineDash([]);
          break;
        }
        default: // a buffer this script does not understand: stop, do not guess
          return true;
      }
    }
    return true;
  };

  // A page the server pre-rendered (web/prerender.go) shows its first
  // frame until the app mounts and replaces it: draw its stack map, and
  // turn go-app's full-page loader into a badge. A static host sends
  // every address the page of the bare one, so the frame is shown only
  // at the address it was rendered for; elsewhere the loader stays.
  function showPrerendered() {
    const root = document.querySelector("body > #skbscope[data-prerender]");
    if (!root) {
      return;
    }
    if (root.dataset.prerender.slice(1) !== location.search.replace(/^\?/, "")) {
      root.replaceChildren();
      root.removeAttribute("data-prerender");
      return;
    }
    const canvas = root.querySelector("canvas[data-frame]");
    if (canvas) {
      const bin = atob(canvas.dataset.frame);
      const bytes = new Uint8Array(bin.length);
      for (let i = 0; i < bin.length; i++) {
        bytes[i] = bin.charCodeAt(i);
      }
      window.skbDraw(canvas.id, bytes, bytes.length);
    }
    document.documentElement.classList.add("prerendered");
    root.dataset.shown = String(Math.round(performance.now()));
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", showPrerendered);
  } else {
    showPrerendered();
  }
})();
