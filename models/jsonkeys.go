package models

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"sync"

	"github.com/go-json-experiment/json/jsontext"
)

// CheckJSONKeys refuses a JSON document that encoding/json would read
// into dst ambiguously: an object holding the same key twice (the decoder
// keeps the last one, silently), or a key that names a field of dst only
// when case is ignored (the decoder matches names case-insensitively, so
// "Client_ID" would fill client_id, and {"client_id":…,"Client_ID":…}
// would let the second override the first). Keys of maps and of values
// kept verbatim are checked for duplicates only. A body that is not JSON
// passes: the decoder reports it.
//
// It reads the document with jsontext's tokenizer (the encoding/json v2
// prototype's), which allocates little: encoding/json's Decoder.Token
// took 1,962 allocations for a push of ten mutations (BENCHMARKS.md,
// fix 21).
func CheckJSONKeys(body []byte, dst any) error {
	dec := jsontext.NewDecoder(bytes.NewReader(body), jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
	return walkJSON(dec, reflect.TypeOf(dst), "")
}

var (
	rawMessageType  = reflect.TypeOf(json.RawMessage(nil))
	unmarshalerType = reflect.TypeOf((*json.Unmarshaler)(nil)).Elem()
)

// walkJSON reads one value from dec, checking its objects' keys against t
// (nil: a value whose keys name no fields). A document dec cannot read
// ends the walk without an error.
func walkJSON(dec *jsontext.Decoder, t reflect.Type, path string) error {
	switch dec.PeekKind() {
	case '{', '[':
	default:
		_ = dec.SkipValue()
		return nil
	}
	tok, err := dec.ReadToken()
	if err != nil {
		return nil
	}
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t != nil && (t == rawMessageType || reflect.PointerTo(t).Implements(unmarshalerType) || t.Kind() == reflect.Interface) {
		t = nil // the value is read by its own decoder, or kept as it is
	}
	switch tok.Kind() {
	case '[':
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		for {
			switch dec.PeekKind() {
			case ']':
				_, _ = dec.ReadToken()
				return nil
			case 0:
				return nil
			}
			if err := walkJSON(dec, elem, path); err != nil {
				return err
			}
		}
	default: // '{'
		var fields map[string]reflect.Type
		var elem reflect.Type
		if t != nil && t.Kind() == reflect.Struct {
			fields = jsonFields(t)
		} else if t != nil && t.Kind() == reflect.Map {
			elem = t.Elem()
		}
		var seen map[string]bool
		for {
			kt, err := dec.ReadToken()
			if err != nil || kt.Kind() != '"' {
				return nil // '}', or a document that is not JSON
			}
			key := kt.String()
			if seen[key] {
				return FieldError(CodeDuplicateKey, join(path, key), "the key %q appears twice in one object", key)
			}
			if seen == nil {
				seen = map[string]bool{}
			}
			seen[key] = true
			next := elem
			if fields != nil {
				ft, ok := fields[key]
				if !ok {
					for name := range fields {
						if strings.EqualFold(name, key) {
							return FieldError(CodeKeyCase, join(path, key), "the key %q differs from %q only in case; keys are case-sensitive", key, name)
						}
					}
				}
				next = ft // nil for an unknown key, which the decoder refuses
			}
			switch dec.PeekKind() {
			case '{', '[':
				if err := walkJSON(dec, next, join(path, key)); err != nil {
					return err
				}
			default:
				_ = dec.SkipValue()
			}
		}
	}
}

// join names key within the value at path.
func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

var fieldCache sync.Map // reflect.Type → map[string]reflect.Type

// jsonFields maps the JSON names encoding/json gives a struct's fields to
// their types, promoting the fields of embedded structs.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	if m, ok := fieldCache.Load(t); ok {
		return m.(map[string]reflect.Type)
	}
	m := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if f.Anonymous && name == "" && ft.Kind() == reflect.Struct {
			for k, v := range jsonFields(ft) {
				if _, ok := m[k]; !ok {
					m[k] = v
				}
			}
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		m[name] = f.Type
	}
	fieldCache.Store(t, m)
	return m
}
