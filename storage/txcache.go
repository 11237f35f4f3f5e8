package storage

import "reflect"

// readCache keeps the records a transaction has read with Get or
// Prefetch, by type and key, so that reading one again (a push's
// mutations each load their task, the answers their checklist) costs no
// statement. A write to a type's table other than Update, and a Lock on
// it, forgets that type's records; an Update replaces the one record it
// wrote with what a read would now return (tx.keep). What a transaction
// reads otherwise cannot change under it (MySQL reads from the
// transaction's snapshot, SQLite runs one writer at a time), so a cached
// read returns what the statement would have. Records go in and out as
// deep copies: a caller changing its copy changes nothing else.
type readCache map[reflect.Type]map[string]reflect.Value

// recordType is the struct type behind a record, a slice of records or a
// pointer to either.
func recordType(rec any) reflect.Type {
	t := reflect.TypeOf(rec)
	for t != nil && (t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice) {
		t = t.Elem()
	}
	return t
}

// load copies the cached record id of rec's type into rec.
func (c readCache) load(rec any, id string) bool {
	v, ok := c[recordType(rec)][id]
	if ok {
		deepCopy(reflect.ValueOf(rec).Elem(), v)
	}
	return ok
}

func (c readCache) store(rec any, id string) {
	t := recordType(rec)
	if c[t] == nil {
		c[t] = map[string]reflect.Value{}
	}
	v := reflect.New(t).Elem()
	deepCopy(v, reflect.ValueOf(rec).Elem())
	c[t][id] = v
}

// forget drops every cached record of model's type.
func (c readCache) forget(model any) { delete(c, recordType(model)) }

// deepCopy sets dst to a copy of src that shares no slice, map or
// pointer with it (unexported fields, such as a time.Time's location,
// are copied as they are).
func deepCopy(dst, src reflect.Value) {
	switch src.Kind() {
	case reflect.Pointer:
		if src.IsNil() {
			dst.SetZero()
			return
		}
		p := reflect.New(src.Type().Elem())
		deepCopy(p.Elem(), src.Elem())
		dst.Set(p)
	case reflect.Slice:
		if src.IsNil() {
			dst.SetZero()
			return
		}
		s := reflect.MakeSlice(src.Type(), src.Len(), src.Len())
		for i := range src.Len() {
			deepCopy(s.Index(i), src.Index(i))
		}
		dst.Set(s)
	case reflect.Map:
		if src.IsNil() {
			dst.SetZero()
			return
		}
		m := reflect.MakeMapWithSize(src.Type(), src.Len())
		for it := src.MapRange(); it.Next(); {
			v := reflect.New(src.Type().Elem()).Elem()
			deepCopy(v, it.Value())
			m.SetMapIndex(it.Key(), v)
		}
		dst.Set(m)
	case reflect.Struct:
		dst.Set(src)
		for i := range src.NumField() {
			if dst.Field(i).CanSet() {
				deepCopy(dst.Field(i), src.Field(i))
			}
		}
	case reflect.Interface:
		if src.IsNil() {
			dst.SetZero()
			return
		}
		v := reflect.New(src.Elem().Type()).Elem()
		deepCopy(v, src.Elem())
		dst.Set(v)
	default:
		dst.Set(src)
	}
}
