/**
 * Renaming the top entry of a stored artifact's tar archive, as a stream: the archive the engine
 * gave for `/out/report.bin` holds `report.bin` (for a directory `/out/build`: `build/…`), and an
 * input declared at `/in/data.bin` must appear as `data.bin` when the archive is put into the
 * next container at `/in`. Entries are re-packed one by one (tar-stream), so the bytes go from the
 * store to the engine without being held in memory or touching the executor's disk; long names
 * (PAX headers) are handled by tar-stream on both sides.
 */
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream';
import tar from 'tar-stream';

/** `source` with its top-level name (the first segment of every entry) replaced by `to`. */
export function renameTop(source: NodeJS.ReadableStream, to: string): Readable {
  if (to === '' || to.includes('/')) throw new Error(`invalid top-level name ${JSON.stringify(to)}`);
  const extract = tar.extract();
  const pack = tar.pack();
  const rename = (name: string): string => {
    const trimmed = name.replace(/^(?:\.\/|\/)+/, '');
    const slash = trimmed.indexOf('/');
    return slash === -1 ? to : to + trimmed.slice(slash);
  };
  extract.on('entry', (header, stream, next) => {
    header.name = rename(header.name);
    // A hard link names another entry of the same archive, which was renamed too.
    if (header.type === 'link' && header.linkname) header.linkname = rename(header.linkname);
    // tar-stream 2 keeps an entry's PAX records in `pax` (not in its types).
    const paxed = header as tar.Headers & { pax?: Record<string, string> };
    if (paxed.pax) {
      // The extract read a long name from the entry's PAX record into `name`; the pack writes
      // `name` (and `linkname`) into a new one, then every key of `pax` after them, where the old
      // `path` would win.
      const { path: _path, linkpath: _linkpath, ...rest } = paxed.pax;
      paxed.pax = rest;
    }
    const entry = pack.entry(header, (err) => {
      if (err) extract.destroy(err);
      else next();
    });
    stream.pipe(entry);
  });
  extract.on('finish', () => pack.finalize());
  pipeline(source, extract, (err) => {
    if (err) pack.destroy(err);
  });
  return pack;
}
