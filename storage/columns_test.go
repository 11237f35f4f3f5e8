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

// TestColumnsExist: every column the domain, the sync engine and the
// commands name in a condition, an update, a pluck, a grouping or an
// ordering exists in the migrated schema of every database, and so does
// every column of the typed column sets (models.ChangeCols and the
// others). A column written as a string constant is a name the compiler
// never sees; this reads them from the source (models and its packages,
// sync, cmd) and checks each against the table it is used on where the
// call names the table (&T{} or a variable declared as T), and against
// some table otherwise. A typed column is checked against the table of
// its set, and, like a string, against the table of the call it is used
// in. On a table that has a typed set, a column named by a string where
// the call names the table is an error: those tables are typed
// throughout.
func TestColumnsExist(t *testing.T) {
	uses, tables, sets := columnUses(t, "../models", "../sync", "../cmd")
	if len(uses) < 100 {
		t.Fatalf("found only %d column uses; the source scan is broken", len(uses))
	}
	if len(sets) < 7 {
		t.Fatalf("found only %d typed column sets; the source scan is broken", len(sets))
	}
	typed := 0
	for _, u := range uses {
		if u.typed {
			typed++
		}
	}
	if typed < 50 {
		t.Fatalf("found only %d uses of typed columns; the source scan is broken", typed)
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
			tableOf := func(typ string) string {
				if table, ok := tables[typ]; ok {
					return table
				}
				return schema.NamingStrategy{}.TableName(typ)
			}
			setOf := map[string]string{} // table → its set
			for _, set := range sets {
				table := tableOf(set.record)
				setOf[table] = set.name
				cols, ok := schemaCols[table]
				if !ok {
					t.Errorf("%s: %s names no table: call it <Record>Cols after its record type (or its table)", set.pos, set.name)
					continue
				}
				for field, col := range set.cols {
					if !cols[col] {
						t.Errorf("%s: %s.%s is %q, which is not in table %q", set.pos, set.name, field, col, table)
					}
				}
				named := map[string]bool{}
				for _, col := range set.cols {
					named[col] = true
				}
				for col := range cols {
					if !named[col] {
						t.Errorf("%s: table %q has a column %q that %s does not name", set.pos, table, col, set.name)
					}
				}
			}
			for _, u := range uses {
				if u.typ == "" {
					if !all[u.column] {
						t.Errorf("%s: column %q is in no table", u.pos, u.column)
					}
					continue
				}
				table := tableOf(u.typ)
				if set, ok := setOf[table]; ok && !u.typed {
					t.Errorf("%s: column %q of table %q is a string; name it through %s", u.pos, u.column, table, set)
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
	typed  bool // named through a typed column set or constant
}

// columnSet is a typed column set: a package-level var named
// <Record>Cols whose value is a struct literal of models.Column fields.
type columnSet struct {
	pos    token.Position
	name   string
	record string
	cols   map[string]string // field → column
}

// tableMethods are the Tx methods whose first argument names the table.
var tableMethods = []string{"UpdateWhere", "Count", "Pluck", "CountBy", "Delete", "Lock", "List", "First", "Get"}

// columnUses scans the non-test Go files under dirs for column names, and
// returns them with the tables that TableName methods give types and the
// typed column sets.
func columnUses(t *testing.T, dirs ...string) ([]columnUse, map[string]string, []columnSet) {
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
	sets, typed := typedColumns(fset, files)
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
				if call, ok := e.(*ast.CallExpr); ok && funcName(call.Fun) == "Desc" {
					e = call.Fun.(*ast.SelectorExpr).X
				}
				if col, ok := typed(e); ok {
					uses = append(uses, columnUse{fset.Position(e.Pos()), typ, col, true})
					return
				}
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
						uses = append(uses, columnUse{fset.Position(lit.Pos()), typ, col, false})
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
						if name == "OrderBy" {
							for _, a := range x.Args {
								add(a, typ, false)
							}
						}
					case *ast.CompositeLit:
						kind := typeName(x.Type)
						if x.Type == nil {
							kind = "Cond" // an element of a []Cond
						}
						switch kind {
						case "Cond", "Subquery":
							// A subquery's column and conditions are on its
							// model's table.
							inner := typ
							if kind == "Subquery" {
								for _, e := range x.Elts {
									if kv, ok := e.(*ast.KeyValueExpr); ok && identName(kv.Key) == "Model" {
										if rt := recordType(kv.Value, vars); rt != "" {
											inner = rt
										}
									}
								}
							}
							for _, e := range x.Elts {
								if kv, ok := e.(*ast.KeyValueExpr); ok && identName(kv.Key) == "Column" {
									add(kv.Value, inner, false)
								}
							}
							if inner != typ {
								for _, e := range x.Elts {
									walk(e, inner)
								}
								return false
							}
						case "Query":
							for _, e := range x.Elts {
								if kv, ok := e.(*ast.KeyValueExpr); ok && identName(kv.Key) == "OrderBy" {
									add(kv.Value, typ, true)
								}
							}
						}
						if kind == "Set" {
							for _, e := range x.Elts {
								if kv, ok := e.(*ast.KeyValueExpr); ok {
									add(kv.Key, typ, false)
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
	return uses, tables, sets
}

// typedColumns finds the typed column sets (var XCols = struct{ … Column
// }{F: "col", …}), the typed column constants (const C Column = "col")
// and the package-level variables that name a set (v = &models.XCols),
// and returns the sets with a resolver: the column an expression
// (XCols.F, pkg.XCols.F, v.F, C or pkg.C) names.
func typedColumns(fset *token.FileSet, files []*ast.File) ([]columnSet, func(ast.Expr) (string, bool)) {
	var sets []columnSet
	byName := map[string]columnSet{}
	consts := map[string]string{}
	aliases := map[string]string{}
	for _, f := range files {
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok {
				continue
			}
			for _, sp := range gd.Specs {
				vs, ok := sp.(*ast.ValueSpec)
				if !ok || len(vs.Names) != len(vs.Values) {
					continue
				}
				for i, n := range vs.Names {
					v := vs.Values[i]
					if gd.Tok == token.CONST && typeName(vs.Type) == "Column" {
						if lit, ok := v.(*ast.BasicLit); ok {
							consts[n.Name], _ = strconv.Unquote(lit.Value)
						}
						continue
					}
					if u, ok := v.(*ast.UnaryExpr); ok && u.Op == token.AND {
						v = u.X
					}
					if name := typeName(v); strings.HasSuffix(name, "Cols") {
						aliases[n.Name] = name
						continue
					}
					cl, ok := v.(*ast.CompositeLit)
					if !ok {
						continue
					}
					st, ok := cl.Type.(*ast.StructType)
					if !ok || len(st.Fields.List) == 0 || typeName(st.Fields.List[0].Type) != "Column" {
						continue
					}
					set := columnSet{fset.Position(n.Pos()), n.Name, strings.TrimSuffix(n.Name, "Cols"), map[string]string{}}
					for _, e := range cl.Elts {
						if kv, ok := e.(*ast.KeyValueExpr); ok {
							if lit, ok := kv.Value.(*ast.BasicLit); ok {
								set.cols[identName(kv.Key)], _ = strconv.Unquote(lit.Value)
							}
						}
					}
					if !strings.HasSuffix(n.Name, "Cols") {
						set.record = "" // reported: it names no table
					}
					sets = append(sets, set)
					byName[n.Name] = set
				}
			}
		}
	}
	resolve := func(e ast.Expr) (string, bool) {
		switch x := e.(type) {
		case *ast.Ident:
			c, ok := consts[x.Name]
			return c, ok
		case *ast.SelectorExpr:
			if c, ok := consts[x.Sel.Name]; ok && identName(x.X) != "" {
				if _, isSet := byName[identName(x.X)]; !isSet {
					return c, true // pkg.C
				}
			}
			set := typeName(x.X) // XCols, pkg.XCols or an alias
			if a, ok := aliases[set]; ok {
				set = a
			}
			c, ok := byName[set].cols[x.Sel.Name]
			return c, ok
		}
		return "", false
	}
	return sets, resolve
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
