package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// Values longer than this are reported by size and digest (PROTOCOL.md section 5).
const inlineValueBytesMax = 64 * 1024

// Bytes is a protocol Bytes value: null, text, {"base64"} or {"fill","size"}.
type Bytes struct {
	data  []byte
	isSet bool // false: null
}

func (b *Bytes) UnmarshalJSON(raw []byte) error {
	if bytes.Equal(raw, []byte("null")) {
		*b = Bytes{}
		return nil
	}
	var text string
	if json.Unmarshal(raw, &text) == nil {
		*b = Bytes{data: []byte(text), isSet: true}
		return nil
	}
	var form struct {
		Base64 *string `json:"base64"`
		Fill   string  `json:"fill"`
		Size   int     `json:"size"`
	}
	if err := json.Unmarshal(raw, &form); err != nil {
		return err
	}
	if form.Base64 != nil {
		data, err := base64.StdEncoding.DecodeString(*form.Base64)
		*b = Bytes{data: data, isSet: true}
		return err
	}
	data := []byte(strings.Repeat(form.Fill, form.Size/max(len(form.Fill), 1)+1))
	*b = Bytes{data: data[:form.Size], isSet: true}
	return nil
}

// encodeBytes reports bytes as text when UTF-8, else base64; large ones by digest.
func encodeBytes(data []byte, isNull bool) any {
	if isNull {
		return nil
	}
	if len(data) > inlineValueBytesMax {
		digest := sha256.Sum256(data)
		return map[string]any{"size": len(data), "sha256": hex.EncodeToString(digest[:])}
	}
	if utf8.Valid(data) {
		return string(data)
	}
	return map[string]string{"base64": base64.StdEncoding.EncodeToString(data)}
}
