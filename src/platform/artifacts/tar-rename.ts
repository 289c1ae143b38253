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
