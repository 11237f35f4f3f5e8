package storage_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gorm.io/gorm/schema"

	"github.com/fieldsync/fieldsync/storage/storagetest"
)

// TestColumnsExist: every column the domain and the sync engine name in
// a condition, an update, a pluck, a grouping or an ordering exists in the
// migrated schema of every database. Column names are strings the
// compiler never sees; this reads them from the source (models and its
// packages, sync) and checks each against the table it is used on where
// the call names the table (&T{} or a variable declared as T), and
// against some table otherwise.
func TestColumnsExist(t *testing.T) {
	uses, tables := columnUses(t, "../models", "../sync")
	if len(uses) < 100 {
		t.Fatalf("found only %d column uses; the source scan is broken", len(uses))
	}
	for _, dialect := range storagetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			db := storagetest.MustOpen(t, dialect)
			m := db.Gorm().Migrator()
			names, err := m.GetTables()
			if err != nil {
				t.Fatal(err)
			}
			schemaCols := map[string]map[string]bool{}
			all := map[string]bool{}
			for _, table := range names {
				cts, err := m.ColumnTypes(table)
				if err != nil {
					t.Fatal(err)
				}
				schemaCols[table] = map[string]bool{}
				for _, ct := range cts {
					schemaCols[table][ct.Name()] = true
					all[ct.Name()] = true
				}
			}
			for _, u := range uses {
				if u.typ == "" {
					if !all[u.column] {
						t.Errorf("%s: column %q is in no table", u.pos, u.column)
					}
					continue
				}
				table, ok := tables[u.typ]
				if !ok {
					table = schema.NamingStrategy{}.TableName(u.typ)
				}
				cols, ok := schemaCols[table]
				if !ok {
					// Not a record type (a type parameter, any): the
					// table is not known here.
					cols = all
				}
				if !cols[u.column] {
					t.Errorf("%s: column %q is not in table %q", u.pos, u.column, table)
				}
			}
		})
	}
}

// columnUse is one column named in the source: on the records of type
// typ, or on an unknown table when typ is "".
type columnUse struct {
	pos    token.Position
	typ    string
	column string
}

// tableMethods are the Tx methods whose first argument names the table.
var tableMethods = []string{"UpdateWhere", "Count", "Pluck", "CountBy", "Delete", "Lock", "List", "First", "Get"}

// columnUses scans the non-test Go files under dirs for column names, and
// returns them with the tables that TableName methods give types.
func columnUses(t *testing.T, dirs ...string) ([]columnUse, map[string]string) {
	t.Helper()
	fset := token.NewFileSet()
	var files []*ast.File
	for _, dir := range dirs {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			f, err := parser.ParseFile(fset, path, nil, 0)
			if err == nil {
				files = append(files, f)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	tables := map[string]string{}
	for _, f := range files {
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Name.Name != "TableName" || fd.Recv == nil || len(fd.Body.List) != 1 {
				continue
			}
			ret, ok := fd.Body.List[0].(*ast.ReturnStmt)
			if !ok || len(ret.Results) != 1 {
				continue
			}
			if lit, ok := ret.Results[0].(*ast.BasicLit); ok {
				tables[typeName(fd.Recv.List[0].Type)], _ = strconv.Unquote(lit.Value)
			}
		}
	}
	var uses []columnUse
	for _, f := range files {
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Body == nil {
				continue
			}
			vars := declaredTypes(fd)
			var walk func(n ast.Node, typ string)
			add := func(e ast.Expr, typ string, list bool) {
				lit, ok := e.(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					return
				}
				s, _ := strconv.Unquote(lit.Value)
				parts := []string{s}
				if list {
					parts = strings.Split(s, ",")
				}
				for _, p := range parts {
					col := strings.TrimSuffix(strings.TrimSpace(p), " DESC")
					if col != "" {
						uses = append(uses, columnUse{fset.Position(lit.Pos()), typ, col})
					}
				}
			}
			walk = func(n ast.Node, typ string) {
				ast.Inspect(n, func(n ast.Node) bool {
					switch x := n.(type) {
					case *ast.CallExpr:
						name := funcName(x.Fun)
						if slices.Contains(tableMethods, name) && len(x.Args) > 0 && typ == "" {
							if rt := recordType(x.Args[0], vars); rt != "" {
								if name == "Pluck" && len(x.Args) > 1 {
									add(x.Args[1], rt, false)
								}
								if cl, ok := x.Args[1%len(x.Args)].(*ast.CompositeLit); ok && name == "CountBy" {
									for _, e := range cl.Elts {
										add(e, rt, false)
									}
								}
								for _, a := range x.Args[1:] {
									walk(a, rt)
								}
								return false
							}
						}
						if name == "Eq" && len(x.Args) == 2 {
							add(x.Args[0], typ, false)
						}
					case *ast.CompositeLit:
						kind := typeName(x.Type)
						if x.Type == nil {
							kind = "Cond" // an element of a []Cond
						}
						switch kind {
						case "Cond", "Subquery":
							for _, e := range x.Elts {
								if kv, ok := e.(*ast.KeyValueExpr); ok && identName(kv.Key) == "Column" {
									add(kv.Value, typ, false)
								}
							}
							if typeName(x.Type) == "Subquery" {
								for _, e := range x.Elts {
									if kv, ok := e.(*ast.KeyValueExpr); ok && identName(kv.Key) == "Model" {
										if rt := recordType(kv.Value, vars); rt != "" {
											for _, e := range x.Elts {
												walk(e, rt)
											}
											return false
										}
									}
								}
							}
						case "Query":
							for _, e := range x.Elts {
								if kv, ok := e.(*ast.KeyValueExpr); ok && identName(kv.Key) == "OrderBy" {
									add(kv.Value, typ, true)
								}
							}
						}
						if mt, ok := x.Type.(*ast.MapType); ok && typ != "" && identName(mt.Key) == "string" {
							for _, e := range x.Elts {
								if kv, ok := e.(*ast.KeyValueExpr); ok {
									add(kv.Key, typ, false)
								}
							}
						}
					}
					return true
				})
			}
			walk(fd.Body, "")
		}
	}
	return uses, tables
}

// recordType names the record type of a Tx call's first argument: &T{},
// &v or v for a variable declared with a type T or []T.
func recordType(e ast.Expr, vars map[string]string) string {
	if u, ok := e.(*ast.UnaryExpr); ok && u.Op == token.AND {
		e = u.X
	}
	switch x := e.(type) {
	case *ast.CompositeLit:
		return typeName(x.Type)
	case *ast.Ident:
		return vars[x.Name]
	}
	return ""
}

// declaredTypes maps the variables fd declares with var (and its
// parameters) to their record type names.
func declaredTypes(fd *ast.FuncDecl) map[string]string {
	vars := map[string]string{}
	addField := func(names []*ast.Ident, typ ast.Expr) {
		if at, ok := typ.(*ast.ArrayType); ok {
			typ = at.Elt
		}
		if st, ok := typ.(*ast.StarExpr); ok {
			typ = st.X
		}
		if n := typeName(typ); n != "" {
			for _, id := range names {
				vars[id.Name] = n
			}
		}
	}
	for _, p := range fd.Type.Params.List {
		addField(p.Names, p.Type)
	}
	ast.Inspect(fd.Body, func(n ast.Node) bool {
		if vs, ok := n.(*ast.ValueSpec); ok && vs.Type != nil {
			addField(vs.Names, vs.Type)
		}
		return true
	})
	return vars
}

// typeName is the name of a type expression T or pkg.T; "" otherwise.
func typeName(e ast.Expr) string {
	switch x := e.(type) {
	case *ast.Ident:
		return x.Name
	case *ast.SelectorExpr:
		return x.Sel.Name
	case *ast.StarExpr:
		return typeName(x.X)
	case *ast.IndexExpr:
		return typeName(x.X)
	}
	return ""
}

func funcName(e ast.Expr) string {
	switch x := e.(type) {
	case *ast.Ident:
		return x.Name
	case *ast.SelectorExpr:
		return x.Sel.Name
	case *ast.IndexExpr:
		return funcName(x.X)
	}
	return ""
}

func identName(e ast.Expr) string {
	if id, ok := e.(*ast.Ident); ok {
		return id.Name
	}
	return ""
}
