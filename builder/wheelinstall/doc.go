// Package wheelinstall is hfpack's own installer of Python wheels: it turns a
// locked .whl file into entries of a [tree.Tree] that becomes the image's
// site-packages layer, so that no pip runs at build time.
//
// Install follows the binary distribution format and the recording-installed-
// packages specifications the way pip and pypa/installer do:
//
//   - the wheel file's sha256 is checked against the lock before anything in
//     it is read, and a Wheel-Version above 1.x is refused;
//   - every member is read back as unzip reads it: exactly its recorded
//     length, with its recorded CRC-32;
//   - RECORD rows are taken as pip and uv take them, not checked against the
//     files: published wheels (torch among them) carry rows their files do
//     not match, and the locked sha256 already vouches for every byte;
//   - every archive member name is checked (absolute, "..", backslash, NUL,
//     empty or "." elements, invalid UTF-8, duplicates, symbolic links and
//     other non-regular Unix types, encrypted or non-deflate members), and a
//     hostile wheel is an error naming the member;
//   - the root goes to purelib or platlib by Root-Is-Purelib, and
//     <dist>.data/{purelib,platlib,scripts,data,headers}/ to the scheme's
//     directories; "#!python" shebangs of .data/scripts are rewritten to the
//     image's interpreter;
//   - console_scripts and gui_scripts of entry_points.txt become wrappers
//     with the same text pip (distlib) writes;
//   - files keep an executable bit when the zip's Unix mode is a regular file
//     with any x bit (0o755), scripts are always 0o755, everything else 0o644;
//   - the .dist-info gets INSTALLER ("hfpack") and a regenerated, sorted
//     RECORD of every installed file.
//
// Deliberate differences from pip (TestMatchesPip shows the trees are
// otherwise equal, byte for byte and x bit for x bit):
//
//   - no .pyc files are compiled: timestamped .pyc would break
//     reproducibility, and Python compiles on first import;
//   - direct_url.json is never written: locked wheels come from an index,
//     where PEP 610 asks for none;
//   - REQUESTED is written only with WithRequested (pip writes it for every
//     requirement named on its command line);
//   - INSTALLER says "hfpack", and RECORD is regenerated from the installed
//     files (pip copies the wheel's rows verbatim, rows of absent files
//     included) with lines ending in "\n" as pypa/installer writes them, where
//     pip writes "\r\n"; a row keeps the wheel's digest, and gets the size
//     the archive records;
//   - .data/scripts are always executable; pip keeps a script without an x
//     bit in the zip at 0o644.
//
// File contents are never held in memory. Each installed file's Open re-opens
// the wheel by path (or reads the file WithFiles keeps open), seeks to the
// member's data and inflates it, so any number of layer writers may read
// entries concurrently. The bytes an Open yields are checked against the
// member's length and CRC-32 in the archive, and a mismatch is a read error
// (zip.ErrChecksum) naming the member. With WithFiles those bytes come from
// the very file whose sha256 was checked; a wheel re-opened by path is
// checked by CRC-32 alone, which catches corruption, not a wheel replaced
// on purpose between the check and the read. A file two wheels install is
// installed once when its bytes are the same, compared byte for byte.
package wheelinstall
