package main

import (
	"context"
	"crypto/tls"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/go-sql-driver/mysql"
)

// migrations create and upgrade the stand-in's own tables (prefixed standin_ so that they can
// never be mistaken for W&B's). Applied in order, each once, recorded in standin_schema.
var migrations = []struct {
	Version int
	SQL     string
}{
	{1, `CREATE TABLE IF NOT EXISTS standin_files (
		id VARCHAR(32) NOT NULL PRIMARY KEY,
		name VARCHAR(255) NOT NULL,
		object_key VARCHAR(1024) NOT NULL,
		state VARCHAR(16) NOT NULL DEFAULT 'pending',
		created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
	) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci`},
	{2, `ALTER TABLE standin_files
		ADD COLUMN size BIGINT NULL,
		ADD COLUMN sha256 CHAR(64) NULL,
		ADD COLUMN etag VARCHAR(128) NULL,
		ADD COLUMN completed_at DATETIME(3) NULL,
		ADD COLUMN app_version VARCHAR(32) NULL`},
}

// FileRow is one row of standin_files.
type FileRow struct {
	ID          string     `json:"id"`
	Name        string     `json:"name"`
	Key         string     `json:"key"`
	State       string     `json:"state"`
	Size        *int64     `json:"size"`
	SHA256      *string    `json:"sha256"`
	ETag        *string    `json:"etag"`
	CreatedAt   time.Time  `json:"created_at"`
	CompletedAt *time.Time `json:"completed_at"`
	AppVersion  *string    `json:"app_version"`
}

// Store is the MySQL side.
type Store struct{ DB *sql.DB }

// OpenStore opens the pool (it does not connect yet).
func OpenStore(cfg *mysql.Config) (*Store, error) {
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(connector)
	db.SetMaxOpenConns(8)
	db.SetConnMaxLifetime(5 * time.Minute)
	return &Store{DB: db}, nil
}

// Fatal MySQL errors: retrying cannot help, the operator must change something.
func mysqlFatal(err error) (string, bool) {
	var verr *tls.CertificateVerificationError
	if errors.As(err, &verr) {
		return fmt.Sprintf("MYSQL has tls=true and MySQL's certificate does not verify: %v. Fix: put the CA that signs it in kubernetes_ca_certs (wandb_ca_cert) and have it name the host in MYSQL (wandb_db_host; the mysql role's mysql_tls_mode local_ca does both)", verr.Err), true
	}
	var me *mysql.MySQLError
	if !errors.As(err, &me) {
		return "", false
	}
	switch me.Number {
	case 1045:
		return "MySQL refused the user and password in MYSQL (Access denied). Fix: check wandb_db_user/wandb_db_password, and that MYSQL percent-encodes them (onprem.wandb.mysql_url)", true
	case 1044:
		return "the MySQL user in MYSQL may not use the database it names (Access denied to database). Fix: GRANT ALL ON <db>.* TO the W&B user (the mysql role does)", true
	case 1049:
		return "the database named in MYSQL does not exist (Unknown database). Fix: create it with CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci (the mysql role does) or correct wandb_db_name", true
	}
	return "", false
}

// Migrate applies what is missing; a MySQL named lock keeps two replicas from racing.
func (s *Store) Migrate(ctx context.Context, logf func(string, ...any)) (int, error) {
	conn, err := s.DB.Conn(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	var got sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK('standin_migrations', 120)").Scan(&got); err != nil {
		return 0, err
	}
	if !got.Valid || got.Int64 != 1 {
		return 0, fmt.Errorf("another replica holds the migration lock for more than 120 s")
	}
	defer conn.ExecContext(context.Background(), "DO RELEASE_LOCK('standin_migrations')") //nolint:errcheck
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS standin_schema (
		version INT NOT NULL PRIMARY KEY,
		applied_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)) ENGINE=InnoDB`); err != nil {
		return 0, fmt.Errorf("creating standin_schema: %w", err)
	}
	current := 0
	if err := conn.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM standin_schema").Scan(&current); err != nil {
		return 0, err
	}
	for _, m := range migrations {
		if m.Version <= current {
			continue
		}
		logf("migration %d: applying", m.Version)
		if _, err := conn.ExecContext(ctx, m.SQL); err != nil {
			return current, fmt.Errorf("migration %d: %w", m.Version, err)
		}
		if _, err := conn.ExecContext(ctx, "INSERT INTO standin_schema (version) VALUES (?)", m.Version); err != nil {
			return current, fmt.Errorf("recording migration %d: %w", m.Version, err)
		}
		current = m.Version
	}
	return current, nil
}

const fileColumns = "id, name, object_key, state, size, sha256, etag, created_at, completed_at, app_version"

func scanFile(row interface{ Scan(...any) error }) (*FileRow, error) {
	var f FileRow
	var completed sql.NullTime
	if err := row.Scan(&f.ID, &f.Name, &f.Key, &f.State, &f.Size, &f.SHA256, &f.ETag, &f.CreatedAt, &completed, &f.AppVersion); err != nil {
		return nil, err
	}
	if completed.Valid {
		f.CompletedAt = &completed.Time
	}
	return &f, nil
}

// CreateFile records a pending upload.
func (s *Store) CreateFile(ctx context.Context, id, name, key string, sha *string) error {
	_, err := s.DB.ExecContext(ctx, "INSERT INTO standin_files (id, name, object_key, sha256) VALUES (?, ?, ?, ?)", id, name, key, sha)
	return err
}

// GetFile reads one row (sql.ErrNoRows when absent).
func (s *Store) GetFile(ctx context.Context, id string) (*FileRow, error) {
	return scanFile(s.DB.QueryRowContext(ctx, "SELECT "+fileColumns+" FROM standin_files WHERE id = ?", id))
}

// CompleteFile stores what the object store reported for the upload.
func (s *Store) CompleteFile(ctx context.Context, id string, size int64, etag, version string) error {
	_, err := s.DB.ExecContext(ctx, `UPDATE standin_files SET state = 'complete', size = ?, etag = ?,
		completed_at = CURRENT_TIMESTAMP(3), app_version = ? WHERE id = ?`, size, etag, version, id)
	return err
}

// ListFiles returns the newest rows first.
func (s *Store) ListFiles(ctx context.Context, limit int) ([]FileRow, error) {
	rows, err := s.DB.QueryContext(ctx, "SELECT "+fileColumns+" FROM standin_files ORDER BY created_at DESC LIMIT ?", limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []FileRow{}
	for rows.Next() {
		f, err := scanFile(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *f)
	}
	return out, rows.Err()
}

// DeleteFile removes one row.
func (s *Store) DeleteFile(ctx context.Context, id string) error {
	_, err := s.DB.ExecContext(ctx, "DELETE FROM standin_files WHERE id = ?", id)
	return err
}

// CountFiles counts completed files (for /metrics).
func (s *Store) CountFiles(ctx context.Context) (int64, error) {
	var n int64
	err := s.DB.QueryRowContext(ctx, "SELECT COUNT(*) FROM standin_files WHERE state = 'complete'").Scan(&n)
	return n, err
}
