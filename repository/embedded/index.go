package embedded

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	_ "modernc.org/sqlite" // database/sql driver "sqlite", the one FerretDB uses
)

// Names from FerretDB v1.24.2's SQLite backend
// (internal/backends/sqlite/metadata/registry.go and metadata.go).
const (
	// metadataTable lists every collection of a database with the name of
	// the table that stores it.
	metadataTable = "_ferretdb_collections"

	// idExpr is the expression FerretDB compares when it pushes a filter
	// {_id: <string or ObjectId>} down to SQLite (metadata.IDColumn). The
	// index must use exactly this expression for SQLite to pick it up;
	// FerretDB's own "_id_" index is on `_ferretdb_sjson->"_id"`, which the
	// planner does not consider equal.
	idExpr = `_ferretdb_sjson->'$._id'`

	// indexSuffix names matcare's index; FerretDB names its own indexes
	// "<table>_<index name>", so this cannot collide with an index created
	// through the MongoDB API unless someone names one "matcare_id".
	indexSuffix = "_matcare_id"

	// busyTimeoutMS is how long a statement waits for FerretDB's locks.
	busyTimeoutMS = 10000
)

// IndexIDs creates, for every collection of database db, an SQLite index on
// the expression FerretDB uses to find a document by _id, so that a find,
// update or delete whose filter is exactly {_id: <string>} no longer scans
// the whole table.
//
// FerretDB does not know about these indexes: they are not listed by
// listIndexes and are dropped with their collection. Collections created
// later are not covered, so call IndexIDs again after creating collections.
// It is safe to call repeatedly and while the server is serving requests;
// a database that does not exist yet is not an error.
func (s *Server) IndexIDs(ctx context.Context, db string) error {
	return IndexIDs(ctx, s.dir, db)
}

// IndexIDs does what [Server.IndexIDs] does for the SQLite database file of
// database db in directory dir, which may be in use by a FerretDB process.
func IndexIDs(ctx context.Context, dir, db string) error {
	file, err := databaseFile(dir, db)
	if err != nil {
		return err
	}
	if _, err := os.Stat(file); errors.Is(err, fs.ErrNotExist) {
		return nil // FerretDB creates the file with the first collection
	}

	sdb, err := openSQLite(file)
	if err != nil {
		return err
	}
	defer sdb.Close()

	conn, err := sdb.Conn(ctx)
	if err != nil {
		return fmt.Errorf("embedded: open %s: %w", file, err)
	}
	defer conn.Close()

	// One write transaction, so that no collection is dropped between
	// listing the tables and indexing them.
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return fmt.Errorf("embedded: index %s: %w", db, err)
	}
	if err := indexTables(ctx, conn); err != nil {
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		return fmt.Errorf("embedded: index %s: %w", db, err)
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		return fmt.Errorf("embedded: index %s: %w", db, err)
	}
	return nil
}

// indexTables creates the missing _id indexes inside the open transaction
// of conn.
func indexTables(ctx context.Context, conn *sql.Conn) error {
	tables, err := collectionTables(ctx, conn)
	if err != nil {
		return err
	}
	for _, t := range tables {
		q := fmt.Sprintf(`CREATE INDEX IF NOT EXISTS %s ON %s (%s)`,
			quoteIdent(t+indexSuffix), quoteIdent(t), idExpr)
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// collectionTables returns the names of the tables that store collections,
// according to FerretDB's metadata, that exist in the database.
func collectionTables(ctx context.Context, conn *sql.Conn) ([]string, error) {
	var n int
	err := conn.QueryRowContext(ctx,
		`SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?`, metadataTable).Scan(&n)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, nil // no collection was ever created
	}

	rows, err := conn.QueryContext(ctx, fmt.Sprintf(
		`SELECT m.table_name FROM %s AS m JOIN sqlite_schema AS s ON s.type = 'table' AND s.name = m.table_name ORDER BY 1`,
		quoteIdent(metadataTable)))
	if err != nil {
		return nil, err
	}
	defer rows.Close()

	var tables []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return nil, err
		}
		tables = append(tables, t)
	}
	return tables, rows.Err()
}

// databaseFile returns the SQLite file of database db in dir, as FerretDB
// names it.
func databaseFile(dir, db string) (string, error) {
	if db == "" || db == "." || db == ".." || strings.ContainsAny(db, `/\`+"\x00") {
		return "", fmt.Errorf("embedded: invalid database name %q", db)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("embedded: %w", err)
	}
	return filepath.Join(abs, db+".sqlite"), nil
}

// openSQLite opens an existing SQLite file that FerretDB may be using.
func openSQLite(file string) (*sql.DB, error) {
	q := url.Values{}
	q.Add("mode", "rw") // never create the file
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeoutMS))
	dsn := "file:" + (&url.URL{Path: file}).EscapedPath() + "?" + q.Encode()

	sdb, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("embedded: open %s: %w", file, err)
	}
	sdb.SetMaxOpenConns(1)
	return sdb, nil
}

// quoteIdent quotes an SQLite identifier.
func quoteIdent(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}
