import { inflateSync } from 'node:zlib'

/** A decoded image: RGBA, 8 bits a channel, row after row. */
export interface Bitmap {
  readonly width: number
  readonly height: number
  readonly pixels: Uint8Array
}

/** Decodes the PNGs a browser takes as screenshots (8-bit RGB or RGBA, not interlaced). */
export function decodePng(png: Buffer): Bitmap {
  if (png.readUInt32BE(0) !== 0x89504e47) throw new Error('not a PNG')
  let offset = 8
  let width = 0
  let height = 0
  let channels = 0
  const data: Buffer[] = []
  while (offset < png.length) {
    const length = png.readUInt32BE(offset)
    const type = png.toString('latin1', offset + 4, offset + 8)
    const chunk = png.subarray(offset + 8, offset + 8 + length)
    if (type === 'IHDR') {
      width = chunk.readUInt32BE(0)
      height = chunk.readUInt32BE(4)
      const [bitDepth, colorType, , , interlace] = [chunk[8], chunk[9], chunk[10], chunk[11], chunk[12]]
      if (bitDepth !== 8 || interlace !== 0 || (colorType !== 2 && colorType !== 6)) {
        throw new Error(`unsupported PNG: bit depth ${bitDepth}, colour type ${colorType}, interlace ${interlace}`)
      }
      channels = colorType === 6 ? 4 : 3
    } else if (type === 'IDAT') data.push(chunk)
    offset += 12 + length
  }
  const raw = inflateSync(Buffer.concat(data))
  const stride = width * channels
  const previous = new Uint8Array(stride)
  const current = new Uint8Array(stride)
  const pixels = new Uint8Array(width * height * 4)
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1))
    for (let x = 0; x < stride; x++) {
      const left = x >= channels ? current[x - channels]! : 0
      const up = previous[x]!
      const upLeft = x >= channels ? previous[x - channels]! : 0
      const value = line[x]!
      current[x] =
        filter === 0
          ? value
          : filter === 1
            ? value + left
            : filter === 2
              ? value + up
              : filter === 3
                ? value + ((left + up) >> 1)
                : value + paeth(left, up, upLeft)
    }
    for (let x = 0; x < width; x++) {
      pixels.set(current.subarray(x * channels, x * channels + 3), (y * width + x) * 4)
      pixels[(y * width + x) * 4 + 3] = channels === 4 ? current[x * channels + 3]! : 255
    }
    previous.set(current)
  }
  return { width, height, pixels }
}

function paeth(left: number, up: number, upLeft: number): number {
  const estimate = left + up - upLeft
  const toLeft = Math.abs(estimate - left)
  const toUp = Math.abs(estimate - up)
  const toUpLeft = Math.abs(estimate - upLeft)
  if (toLeft <= toUp && toLeft <= toUpLeft) return left
  return toUp <= toUpLeft ? up : upLeft
}

/** The colour at a pixel, as `#rrggbb`. */
export function colorAt(bitmap: Bitmap, x: number, y: number): string {
  const index = (Math.round(y) * bitmap.width + Math.round(x)) * 4
  return `#${[0, 1, 2].map((channel) => bitmap.pixels[index + channel]!.toString(16).padStart(2, '0')).join('')}`
}

/** Whether two `#rrggbb` colours are within `tolerance` of each other on every channel. */
export function closeColors(left: string, right: string, tolerance = 10): boolean {
  for (let channel = 0; channel < 3; channel++) {
    const a = Number.parseInt(left.slice(1 + channel * 2, 3 + channel * 2), 16)
    const b = Number.parseInt(right.slice(1 + channel * 2, 3 + channel * 2), 16)
    if (Math.abs(a - b) > tolerance) return false
  }
  return true
}

/** How many distinct colours the image holds (a blank page holds one or two). */
export function distinctColors(bitmap: Bitmap): number {
  const seen = new Set<number>()
  const { pixels } = bitmap
  for (let index = 0; index < pixels.length; index += 4) {
    seen.add((pixels[index]! << 16) | (pixels[index + 1]! << 8) | pixels[index + 2]!)
  }
  return seen.size
}
