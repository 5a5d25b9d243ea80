package normalizer

import (
	"crypto/sha1"
	"encoding/base64"
)

// scriptBlockHash is the powershell_operational pipeline's gsub of \s
// (Java's ASCII whitespace) out of the trimmed script block text followed
// by its fingerprint processor with the defaults: SHA-1 of the empty salt,
// a zero delimiter byte and the value's UTF-8, in standard base64. The
// hash then names a script whatever its layout.
func scriptBlockHash(text string) string {
	h := sha1.New()
	h.Write([]byte{0})
	buf := make([]byte, 0, len(text))
	for i := 0; i < len(text); i++ {
		if !isJavaSpace(text[i]) {
			buf = append(buf, text[i])
		}
	}
	h.Write(buf)
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}
