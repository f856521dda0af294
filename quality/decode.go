package quality

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// Encoding names reported by Table.Encoding and accepted by
// TableOptions.Encoding.
const (
	EncUTF8        = "utf-8"
	EncUTF8BOM     = "utf-8-bom"
	EncUTF16LE     = "utf-16le"
	EncUTF16BE     = "utf-16be"
	EncWindows1252 = "windows-1252"
)

// sniffSize is how many bytes are examined to detect the encoding and the
// delimiter.
const sniffSize = 64 << 10

// detectEncoding looks at the start of the input and returns the encoding
// name and a reader of UTF-8 text. Detection: a BOM decides (UTF-8, UTF-16
// LE/BE); otherwise a sample that is not valid UTF-8 means Windows-1252;
// otherwise UTF-8, in which any later invalid byte is still decoded as
// Windows-1252 (files that are pure ASCII for their first 64 KiB and then
// hold an accented Windows-1252 name are common).
func detectEncoding(br *bufio.Reader, forced string) (string, io.Reader, error) {
	head, err := br.Peek(sniffSize)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return "", nil, err
	}
	enc := strings.ToLower(strings.TrimSpace(forced))
	switch enc {
	case "", "auto":
		enc = sniffEncoding(head)
	case "utf8", EncUTF8, EncUTF8BOM:
		enc = EncUTF8
		if bytes.HasPrefix(head, []byte{0xEF, 0xBB, 0xBF}) {
			enc = EncUTF8BOM
		}
	case "utf16le", EncUTF16LE, "utf-16":
		enc = EncUTF16LE
	case "utf16be", EncUTF16BE:
		enc = EncUTF16BE
	case "cp1252", "windows1252", EncWindows1252, "ansi":
		enc = EncWindows1252
	default:
		return "", nil, fmt.Errorf("unknown encoding %q (want utf-8, utf-16le, utf-16be or windows-1252)", forced)
	}
	switch enc {
	case EncUTF8BOM:
		if _, err := br.Discard(3); err != nil {
			return "", nil, err
		}
		return enc, transform.NewReader(br, utf8Fallback{}), nil
	case EncUTF16LE:
		return enc, transform.NewReader(br, unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewDecoder()), nil
	case EncUTF16BE:
		return enc, transform.NewReader(br, unicode.UTF16(unicode.BigEndian, unicode.UseBOM).NewDecoder()), nil
	case EncWindows1252:
		return enc, transform.NewReader(br, charmap.Windows1252.NewDecoder()), nil
	}
	return enc, transform.NewReader(br, utf8Fallback{}), nil
}

// sniffEncoding decides the encoding of a file from its first bytes.
func sniffEncoding(head []byte) string {
	switch {
	case bytes.HasPrefix(head, []byte{0xEF, 0xBB, 0xBF}):
		return EncUTF8BOM
	case bytes.HasPrefix(head, []byte{0xFF, 0xFE}):
		return EncUTF16LE
	case bytes.HasPrefix(head, []byte{0xFE, 0xFF}):
		return EncUTF16BE
	}
	// Ignore a rune cut by the end of the sample.
	s := head
	for i := 0; i < utf8.UTFMax && len(s) > 0; i++ {
		if utf8.Valid(s) {
			return EncUTF8
		}
		if len(head) < sniffSize {
			break
		}
		s = s[:len(s)-1]
	}
	if utf8.Valid(s) {
		return EncUTF8
	}
	return EncWindows1252
}

// utf8Fallback is a transform.Transformer that copies valid UTF-8 and
// decodes every byte that is not part of a valid UTF-8 sequence as
// Windows-1252 (never ISO-8859-1, which has no euro sign or curly quotes).
type utf8Fallback struct{ transform.NopResetter }

// Transform implements transform.Transformer.
func (utf8Fallback) Transform(dst, src []byte, atEOF bool) (nDst, nSrc int, err error) {
	for nSrc < len(src) {
		c := src[nSrc]
		if c < utf8.RuneSelf {
			if nDst >= len(dst) {
				return nDst, nSrc, transform.ErrShortDst
			}
			dst[nDst] = c
			nDst++
			nSrc++
			continue
		}
		if !atEOF && !utf8.FullRune(src[nSrc:]) {
			return nDst, nSrc, transform.ErrShortSrc
		}
		r, size := utf8.DecodeRune(src[nSrc:])
		if r == utf8.RuneError && size <= 1 {
			r = charmap.Windows1252.DecodeByte(c)
			size = 1
			if nDst+utf8.RuneLen(r) > len(dst) {
				return nDst, nSrc, transform.ErrShortDst
			}
			nDst += utf8.EncodeRune(dst[nDst:], r)
			nSrc++
			continue
		}
		if nDst+size > len(dst) {
			return nDst, nSrc, transform.ErrShortDst
		}
		copy(dst[nDst:], src[nSrc:nSrc+size])
		nDst += size
		nSrc += size
	}
	return nDst, nSrc, nil
}
