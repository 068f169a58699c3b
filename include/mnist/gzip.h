/* gzip.h - decompressing gzip files (RFC 1952) holding deflate data (RFC 1951),
 * and zlib streams (RFC 1950, for PNG).
 *
 * Our own inflater, so that the data sets can be read as distributed
 * (train-images-idx3-ubyte.gz, ...) without zlib. It handles stored, fixed-
 * and dynamic-Huffman blocks, every gzip header flag (FTEXT, FHCRC, FEXTRA,
 * FNAME, FCOMMENT) and files made of several concatenated members, and checks
 * each member's CRC-32 and ISIZE (and the header CRC when FHCRC is set).
 *
 * Anything else is an error with a one-line message naming the input, e.g.
 *   "x.gz: corrupt gzip data: invalid distance too far back (compressed byte 1234)"
 *   "x.gz: gzip CRC-32 mismatch in member 1 (stored 0x..., computed 0x...)"
 *   "x.gz: truncated gzip data"
 *   "x.gz: trailing garbage after gzip data (3 bytes at byte 5000)"
 * including reserved header flags, a method other than 8 (deflate), block
 * type 3, over-subscribed or incomplete Huffman codes (an incomplete code is
 * accepted only where RFC 1951 allows it: a single one-bit code, or no
 * distance codes at all) and back-references before the start of the member.
 * Nothing is printed.
 */
#ifndef MNIST_GZIP_H
#define MNIST_GZIP_H

#include <stddef.h>
#include <stdint.h>

#include "mnist/error.h"

/* The two bytes every gzip member starts with. */
#define MN_GZIP_ID1 0x1f
#define MN_GZIP_ID2 0x8b

/* Decompresses all members of the gzip data in[0..n) into a new buffer
 * (*out, to be released with free(); never NULL on success, even for empty
 * output) of *out_len bytes. Fails if the output would exceed max_out bytes.
 * name is used only in error messages. On failure *out is NULL and
 * *out_len is 0. */
int mn_gunzip(const uint8_t *in, size_t n, uint8_t **out, size_t *out_len, size_t max_out, const char *name,
              mn_err *e);

/* Like mn_gunzip, but stops (successfully) as soon as `want` bytes are out:
 * *out_len == want means there may be more, which was not looked at (nor,
 * for the member it stopped in, the CRC); *out_len < want means the data
 * ended there and was checked completely. Lets a caller read a file header
 * and decide how much output is plausible before decompressing it all. */
int mn_gunzip_prefix(const uint8_t *in, size_t n, uint8_t **out, size_t *out_len, size_t want, const char *name,
                     mn_err *e);

/* Nonzero if the n bytes at p start like a gzip member (needs n >= 2). */
int mn_is_gzip(const uint8_t *p, size_t n);

/* CRC-32 as used by gzip (ISO 3309 / ITU-T V.42, reflected 0xEDB88320):
 * crc = mn_crc32(0, buf, n) for a whole buffer; pass the previous result to
 * continue over more data. */
uint32_t mn_crc32(uint32_t crc, const void *buf, size_t n);

/* ---- zlib streams (RFC 1950), as in PNG image data ---------------------- */

/* Decompresses one zlib stream in[0..n) (2-byte header, deflate data,
 * big-endian Adler-32 of the output) into a new buffer, with the same
 * conventions as mn_gunzip: *out released with free(), never NULL on
 * success; on failure *out is NULL and *out_len 0; more than max_out bytes
 * of output is an error. The header must say deflate (CM 8) with a window
 * of at most 32 KiB (CINFO <= 7), pass the FCHECK test and not ask for a
 * preset dictionary (FDICT); the Adler-32 must match and nothing may follow
 * it. Errors are one line naming the input, e.g.
 *   "x.png: zlib header check failed (CMF 0x78, FLG 0x9d)"
 *   "x.png: zlib Adler-32 mismatch (stored 0x..., computed 0x...)"
 *   "x.png: corrupt zlib data: invalid block type 3 (compressed byte 2)" */
int mn_zlib_decompress(const uint8_t *in, size_t n, uint8_t **out, size_t *out_len, size_t max_out,
                       const char *name, mn_err *e);

/* Decompresses raw deflate data in[0..n) (RFC 1951, no header or trailer,
 * as in a zip entry) into a new buffer, conventions as mn_gunzip; more than
 * max_out bytes of output is an error. No checksum is checked (a zip's
 * CRC-32 is the caller's: mn_crc32). */
int mn_inflate(const uint8_t *in, size_t n, size_t max_out, uint8_t **out, size_t *out_len, const char *name,
               mn_err *e);

/* Adler-32 (RFC 1950): a = mn_adler32(1, buf, n) for a whole buffer (1 is
 * the checksum of no data); pass the previous result to continue. */
uint32_t mn_adler32(uint32_t a, const void *buf, size_t n);

#endif
