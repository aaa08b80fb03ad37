package index

import (
	"encoding/binary"
	"errors"
	"math"
	"time"
)

// A project page is cached as the body the index sent (a blob, verified
// by its sha256) and, beside it, the Project hfpack parsed from it in a
// compact binary form: reading that back costs a fraction of parsing a
// JSON or HTML page again, which was most of a warm lock's work. The
// parsed form is a blob too, named in the page's cache entry and verified
// by its own sha256; it records the digest of the body it was parsed from
// and the parser's version, and anything that does not match is parsed
// again from the body.

// pageFormat names the encoding and the parser that produced it: bump it
// whenever parsing a page would give a different Project.
const pageFormat = "hfpack-page-1\n"

var errBadPageCache = errors.New("malformed parsed page")

// encodeProject encodes p, parsed from the body with sha256 digest. The
// Name, Index and files' Index fields are not kept: the client sets them.
func encodeProject(p *Project, digest string) []byte {
	b := make([]byte, 0, 256+200*len(p.Files))
	b = append(b, pageFormat...)
	b = appendString(b, digest)
	b = appendString(b, p.APIVersion)
	b = appendStrings(b, p.Versions)
	b = appendStrings(b, p.Warnings)
	b = binary.AppendUvarint(b, uint64(len(p.Files)))
	for _, f := range p.Files {
		b = appendString(b, f.Filename)
		b = appendString(b, f.URL)
		b = appendString(b, f.SHA256)
		b = binary.AppendVarint(b, f.Size)
		if f.UploadTime.IsZero() {
			b = append(b, 0)
		} else {
			b = append(b, 1)
			b = binary.AppendVarint(b, f.UploadTime.Unix())
			b = binary.AppendUvarint(b, uint64(f.UploadTime.Nanosecond()))
		}
		b = appendString(b, f.RequiresPython)
		b = appendBool(b, f.Yanked)
		b = appendString(b, f.YankedReason)
		b = appendBool(b, f.HasMetadata)
		b = appendString(b, f.MetadataSHA256)
	}
	return b
}

// decodeProject decodes what encodeProject wrote for the body with sha256
// digest.
func decodeProject(b []byte, digest string) (*Project, error) {
	d := &pageDecoder{b: b}
	if string(d.bytes(len(pageFormat))) != pageFormat || d.string() != digest {
		return nil, errBadPageCache
	}
	p := &Project{APIVersion: d.string(), Versions: d.strings(), Warnings: d.strings()}
	n := d.count()
	if n > 0 {
		p.Files = make([]File, n)
	}
	for i := range p.Files {
		f := &p.Files[i]
		f.Filename, f.URL, f.SHA256 = d.string(), d.string(), d.string()
		f.Size = d.varint()
		if d.bool() {
			sec, nsec := d.varint(), d.uvarint()
			if nsec >= 1e9 {
				d.err = errBadPageCache
			}
			f.UploadTime = time.Unix(sec, int64(nsec)).UTC()
		}
		f.RequiresPython = d.string()
		f.Yanked, f.YankedReason = d.bool(), d.string()
		f.HasMetadata, f.MetadataSHA256 = d.bool(), d.string()
	}
	if d.err != nil || len(d.b) != 0 {
		return nil, errBadPageCache
	}
	return p, nil
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

func appendStrings(b []byte, ss []string) []byte {
	if ss == nil {
		return append(b, 0)
	}
	b = binary.AppendUvarint(b, uint64(len(ss))+1)
	for _, s := range ss {
		b = appendString(b, s)
	}
	return b
}

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

// pageDecoder reads encodeProject's output; the first error sticks.
type pageDecoder struct {
	b   []byte
	err error
}

func (d *pageDecoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *pageDecoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

// count reads a length no larger than the bytes left (each element takes
// at least one byte), so a damaged length cannot allocate much.
func (d *pageDecoder) count() int {
	n := d.uvarint()
	if n > uint64(len(d.b)) || n > math.MaxInt32 {
		d.fail()
		return 0
	}
	return int(n)
}

func (d *pageDecoder) bytes(n int) []byte {
	if d.err != nil || n > len(d.b) {
		d.fail()
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *pageDecoder) string() string { return string(d.bytes(d.count())) }

func (d *pageDecoder) strings() []string {
	n := d.count()
	if n == 0 {
		return nil
	}
	ss := make([]string, n-1)
	for i := range ss {
		ss[i] = d.string()
	}
	return ss
}

func (d *pageDecoder) bool() bool {
	v := d.bytes(1)
	if len(v) == 1 && v[0] > 1 {
		d.fail()
	}
	return len(v) == 1 && v[0] == 1
}

func (d *pageDecoder) fail() {
	if d.err == nil {
		d.err = errBadPageCache
	}
	d.b = nil
}
