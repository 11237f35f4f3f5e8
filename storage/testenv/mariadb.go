package testenv

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// PrivateMariaDB is a MariaDB server of the test's own, on a free loopback
// port with its data in a temporary directory, which the test may stop,
// kill and start again on the same data and port without disturbing the
// shared server on 3306 that other packages' tests use at the same time.
// Stop (SIGTERM: a clean shutdown; SIGKILL: a crash) and Start (after
// crash recovery, if it was killed) act on the same data and port.
type PrivateMariaDB struct {
	*Process
	Port int
	// DSN reaches database fieldsync as root (no password), with the
	// parameters fieldsync expects.
	DSN string
}

// mariadbd is the server binary the Debian package installs.
const mariadbd = "/usr/sbin/mariadbd"

// StartPrivateMariaDB creates a data directory with mariadb-install-db and
// starts mariadbd on it. When MariaDB is not installed the test is skipped
// (failed under CI=true).
func StartPrivateMariaDB(tb testing.TB) *PrivateMariaDB {
	tb.Helper()
	server, err := executable(mariadbd)
	if err != nil {
		Require(tb, "MariaDB server binary", err)
	}
	install, err := exec.LookPath("mariadb-install-db")
	if err != nil {
		install, err = exec.LookPath("mysql_install_db")
	}
	Require(tb, "mariadb-install-db", err)
	dir := privateDir(tb, "mariadb")
	data := filepath.Join(dir, "data")
	tmp := filepath.Join(dir, "tmp")
	if err := os.Mkdir(tmp, 0o700); err != nil {
		tb.Fatal(err)
	}
	// --no-defaults everywhere: /etc/mysql/my.cnf names the shared
	// server's port, socket, pid file and log, which must not be touched.
	// A private --tmpdir too: mariadbd deletes every #sql* file in its
	// tmpdir when it starts, and in /tmp those are the shared server's
	// on-disk temporary tables, in use by other tests' queries.
	small := []string{"--innodb-log-file-size=16M", "--innodb-buffer-pool-size=64M", "--tmpdir=" + tmp}
	out, err := exec.Command(install, append([]string{"--no-defaults", "--datadir=" + data, "--user=root",
		"--auth-root-authentication-method=normal", "--skip-test-db"}, small...)...).CombinedOutput()
	if err != nil {
		tb.Fatalf("%s: %v\n%s", install, err, out)
	}
	init := filepath.Join(dir, "init.sql")
	if err := os.WriteFile(init, []byte("CREATE DATABASE IF NOT EXISTS fieldsync CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;\n"), 0o600); err != nil {
		tb.Fatal(err)
	}
	port := FreePort(tb)
	m := &PrivateMariaDB{
		Port: port,
		DSN:  fmt.Sprintf("root@tcp(%s)/fieldsync?parseTime=true&charset=utf8mb4&loc=UTC", hostPort(port)),
	}
	m.Process = &Process{
		Name: "private mariadbd on " + hostPort(port),
		Path: server,
		Args: append([]string{"--no-defaults", "--datadir=" + data, "--port=" + fmt.Sprint(port), "--bind-address=127.0.0.1",
			"--socket=" + filepath.Join(dir, "sock"), "--pid-file=" + filepath.Join(dir, "pid"), "--user=root",
			"--skip-name-resolve", "--character-set-server=utf8mb4", "--collation-server=utf8mb4_unicode_ci",
			"--max-connections=500", "--init-file=" + init}, small...),
		// Without --log-error, mariadbd logs to stderr.
		Log: filepath.Join(dir, "mariadbd.log"),
		// mariadbd listens only once recovery and the init file are done.
		Ready: func() error { return dial(port) },
	}
	StartProcess(tb, m.Process)
	return m
}

// dial reports whether something accepts TCP connections on the port.
func dial(port int) error {
	c, err := net.DialTimeout("tcp", hostPort(port), time.Second)
	if err == nil {
		c.Close()
	}
	return err
}
