"""The ``.aec`` container, format version 1.0 — normative specification.

An ``.aec`` file holds one image compressed by an aecodec model: which model and weights
coded it, the image's size and mode, the entropy-coded symbol streams, a checksum of the
decoded symbols, and optional alpha, ICC and EXIF side data. The design follows PNG: a
fixed signature followed by typed, length-prefixed, CRC-protected chunks. This package is
pure Python (standard library only) so that reading a file never needs torch or numpy.

1. Conventions
==============

* u8, u16, u32: unsigned integers of 1, 2, 4 bytes, **big-endian** (network byte order).
  Every multi-byte integer in the format is big-endian.
* str8: a u8 length ``n`` followed by ``n`` bytes of ASCII text, no terminator.
* Offsets are in bytes from the first byte of the file (offset 0).
* CRC-32 is the CRC of PNG, zip and gzip (reflected polynomial 0xEDB88320, initial value
  and final XOR 0xFFFFFFFF), i.e. Python's ``zlib.crc32``.

2. File layout
==============

======  ========  ==================================================
Offset  Size      Content
======  ========  ==================================================
0       8         signature (section 3)
8       variable  chunks (section 4): HEAD first, AEND last
======  ========  ==================================================

Nothing may follow the AEND chunk.

3. Signature
============

The first eight bytes are always ``8B 41 45 43 0D 0A 1A 0A`` (``b"\\x8bAEC\\r\\n\\x1a\\n"``).
Like PNG's, each byte catches a way files get damaged or misidentified:

======  =========  ===============================================================
Byte    Value      Purpose
======  =========  ===============================================================
0       0x8B       high bit set: detects 7-bit transfers that strip bit 7, and
                   keeps the file from being taken for text
1-3     ``AEC``    names the format to a human reading a hex dump
4-5     CR LF      a DOS-to-Unix newline conversion (CRLF -> LF) changes them
6       0x1A       Ctrl-Z: stops the DOS ``type`` command from printing the file
7       LF         a Unix-to-DOS newline conversion (LF -> CRLF) changes it
======  =========  ===============================================================

4. Chunks
=========

==============  ========  ===========================================================
Chunk offset    Size      Field
==============  ========  ===========================================================
0               4         length: u32, number of data bytes only (0..2**31)
4               4         type: four ASCII letters (A-Z, a-z)
8               length    data
8 + length      4         CRC: u32 CRC-32 over type and data (not over length)
==============  ========  ===========================================================

The case of the type's first letter says whether a reader may ignore the chunk:
uppercase = **critical** (needed to decode the image; a reader that does not know a
critical type must refuse the file), lowercase = **ancillary** (safe to skip; a reader
skips unknown ancillary chunks but still checks their CRC). Types compare
case-sensitively; the case of the other three letters carries no meaning.

===========  ========  =================  ===============================================
Type         Critical  Count              Data
===========  ========  =================  ===============================================
``HEAD``     yes       exactly 1, first   image and model description (section 5)
``BITS``     yes       1 or more          one entropy-coded stream (section 6)
``SCRC``     yes       exactly 1          u32 CRC-32 of the decoded quantized symbols,
                                          computed by the codec (the container only
                                          stores it)
``ALPH``     yes       0 or 1             alpha plane, opaque to the container (the
                                          pipeline stores a zlib-compressed 8-bit plane)
``iCCP``     no        0 or 1             ICC profile, zlib-deflated (as in PNG)
``eXIf``     no        0 or 1             EXIF data, opaque
``tRGT``     no        0 or 1             the rate target the encoder searched for:
                                          u8 kind (1 = bits per pixel, 2 = file size,
                                          3 = PSNR-RGB), u32 target, u32 reached, in
                                          units of 10^-6 bpp, bytes, 10^-4 dB
``AEND``     yes       exactly 1, last    empty (length 0)
===========  ========  =================  ===============================================

Writers emit chunks in the order HEAD, BITS (in stream order), SCRC, ALPH, iCCP, eXIf,
tRGT, AEND. Readers require HEAD first and AEND last and accept the others in any order
between them; the order of the BITS chunks is the order of ``Container.streams``.

5. HEAD chunk data
==================

``n`` is the model id length, ``m`` the mode length.

==========  ====  ===================  ===================================================
Offset      Size  Field                Constraint
==========  ====  ===================  ===================================================
0           1     format major         u8; 1 for this specification
1           1     format minor         u8; 0 for this specification
2           1     n                    u8; 1..64
3           n     model id             ASCII, characters ``[a-z0-9._-]``
3+n         8     weights hash         first 8 bytes of the SHA-256 of the weights file
11+n        4     width                u32; 1..65535
15+n        4     height               u32; 1..65535; width * height <= 2**28
19+n        1     m                    u8; 1..8
20+n        m     image mode           ASCII, characters ``[A-Za-z0-9;]`` (Pillow mode
                                       name: "RGB", "L", "RGBA", "LA", ...)
20+n+m      2     quality              u16 in hundredths; 100..10000 = 1.00..100.00
22+n+m      2     flags                u16; reserved, 0 in version 1.0
24+n+m      -     end of data          in a 1.0 file HEAD ends here
==========  ====  ===================  ===================================================

6. BITS chunk data
==================

``n`` is the stream name length, ``d`` the number of dimensions.

==========  ====  ===================  ===================================================
Offset      Size  Field                Constraint
==========  ====  ===================  ===================================================
0           1     n                    u8; 1..32
1           n     stream name          ASCII ``[A-Za-z0-9._-]`` (e.g. "z", "y",
                                       "y.escape"); unique within the file
1+n         1     d (ndim)             u8; 1..4
2+n         4*d   shape                d x u32; each 0..2**24; product <= 2**32
2+n+4*d     rest  payload              the coded bytes, up to the end of the chunk
==========  ====  ===================  ===================================================

7. Versioning
=============

The signature, the chunk framing (section 4) and the first two bytes of HEAD (major,
minor) are frozen for every future version, so any reader can find the version.

* A new **major** version is incompatible. A reader refuses a file whose major is higher
  than its own ("file needs aecodec format version X.Y; this aecodec reads 1.x — upgrade
  aecodec"), after checking the HEAD CRC but before reading any other HEAD field. Major 0
  is invalid.
* A new **minor** version only adds what older readers may ignore: new ancillary chunks,
  flag bits that do not change the meaning of other fields, and fields appended to HEAD
  after ``flags``. A 1.0 reader accepts any 1.x file and ignores its flags and any HEAD
  bytes after ``flags``. In a file that says 1.0, flags must be 0 and HEAD must end after
  ``flags``.

8. Limits
=========

A reader checks these before allocating or slicing anything:

* chunk length <= 2**31 and <= the bytes remaining in the input;
* at most 4096 chunks in a file (AEND included);
* width and height each 1..65535, width * height <= 2**28;
* BITS: ndim 1..4, each dimension <= 2**24, product of the shape <= 2**32.

9. Reader errors
================

Every malformed input raises :class:`~aecodec.errors.FormatError` or a subclass; nothing
else escapes the reader. Messages are one line and start in lower case.

* empty input: "empty file"; fewer than 8 bytes or a wrong signature: "not an .aec file
  (bad signature)";
* CRC mismatch: :class:`~aecodec.errors.ChecksumError` naming the chunk type and offset;
* higher major version: :class:`~aecodec.errors.UnsupportedVersionError`;
* a chunk or file cut short, or no AEND: "truncated file: ...";
* first chunk not HEAD, duplicated HEAD/SCRC/ALPH/iCCP/eXIf/tRGT or stream name, no BITS, no
  SCRC, AEND with data, a field breaking section 5 or 6, an unknown critical chunk (named
  in the message), more than 4096 chunks, bytes after AEND ("trailing data after AEND").

Python API: :func:`write_container` (raises ``ValueError`` for values the format cannot
hold), :func:`read_container`, :func:`read_header` and :func:`framing_size` (a file's bytes
beyond its stream payloads, without writing it), with the dataclasses
:class:`Container`, :class:`Header`, :class:`Stream` and :class:`ChunkInfo`.
"""

from .reader import read_container, read_header
from .spec import FORMAT_MAJOR, FORMAT_MINOR, SIGNATURE, ChunkInfo, Container, Header, Stream, framing_size
from .writer import write_container

__all__ = [
    "FORMAT_MAJOR",
    "FORMAT_MINOR",
    "SIGNATURE",
    "ChunkInfo",
    "Container",
    "Header",
    "Stream",
    "framing_size",
    "read_container",
    "read_header",
    "write_container",
]
