package config

import (
	"context"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// compose is the part of docker-compose.yml the test reads.
type compose struct {
	Services map[string]struct {
		Image       string            `yaml:"image"`
		Build       any               `yaml:"build"`
		Environment map[string]string `yaml:"environment"`
		Ports       []string          `yaml:"ports"`
		Volumes     []string          `yaml:"volumes"`
		Networks    map[string]struct {
			IPv4 string `yaml:"ipv4_address"`
		} `yaml:"networks"`
	} `yaml:"services"`
}

// required is an interpolation that refuses to start without the
// variable: ${NAME:?message}.
var required = regexp.MustCompile(`^\$\{[A-Z0-9_]+:\?[^}]*\}$`)

// TestComposeFile holds docker-compose.yml to what a deployment that
// phones can reach needs: TLS in front (Caddy, the only service with
// published ports), presigned URLs naming the store's public address,
// secrets from the environment with no defaults, pinned images, the
// MinIO built from the version the tests use, settings the server knows,
// and a .dockerignore that keeps the history and data out of the build.
// When docker is installed, `docker compose config` must accept it too.
func TestComposeFile(t *testing.T) {
	raw, err := os.ReadFile("../../../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var c compose
	if err := yaml.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"db", "minio", "api", "caddy"} {
		if _, ok := c.Services[name]; !ok {
			t.Fatalf("no service %s", name)
		}
	}
	known := map[string]option{}
	for _, o := range options {
		known[o.env] = o
	}
	secretNames := regexp.MustCompile(`PASSWORD|SECRET|ACCESS_KEY`)
	for name, s := range c.Services {
		if s.Image != "" && (!strings.Contains(s.Image, ":") || strings.HasSuffix(s.Image, ":latest")) {
			t.Errorf("%s: image %q is not pinned", name, s.Image)
		}
		if name != "caddy" && len(s.Ports) > 0 {
			t.Errorf("%s publishes %v; only caddy may (TLS in front of everything)", name, s.Ports)
		}
		for k, v := range s.Environment {
			if secretNames.MatchString(k) && !required.MatchString(v) {
				t.Errorf("%s: %s=%q; a secret must come from the environment as ${VAR:?message}, with no default", name, k, v)
			}
			if name == "api" && strings.HasPrefix(k, "FIELDSYNC_") {
				if _, ok := known[k]; !ok {
					t.Errorf("api: %s is no setting of cmd/internal/config", k)
				}
			}
		}
	}
	api := c.Services["api"].Environment
	for _, k := range []string{"FIELDSYNC_MYSQL_DSN", "FIELDSYNC_S3_ENDPOINT", "FIELDSYNC_S3_PUBLIC_ENDPOINT", "FIELDSYNC_PUBLIC_URL", "FIELDSYNC_SECRET", "FIELDSYNC_CORS_ORIGINS", "FIELDSYNC_TRUSTED_PROXIES"} {
		if _, ok := api[k]; !ok {
			t.Errorf("api: %s is not set", k)
		}
	}
	if v := api["FIELDSYNC_S3_PUBLIC_ENDPOINT"]; !strings.HasPrefix(v, "https://${FIELDSYNC_FILES_DOMAIN:?") {
		t.Errorf("FIELDSYNC_S3_PUBLIC_ENDPOINT = %q; want https:// and the files domain, which Caddy serves", v)
	}
	if v := api["FIELDSYNC_CORS_ORIGINS"]; v != "${FIELDSYNC_CORS_ORIGINS:-}" {
		t.Errorf("FIELDSYNC_CORS_ORIGINS = %q; want it from the environment, empty by default", v)
	}
	caddy := c.Services["caddy"]
	if ip := caddy.Networks["default"].IPv4; ip == "" || api["FIELDSYNC_TRUSTED_PROXIES"] != ip {
		t.Errorf("FIELDSYNC_TRUSTED_PROXIES = %q, caddy's address %q: the API must trust Caddy alone", api["FIELDSYNC_TRUSTED_PROXIES"], ip)
	}
	if !strings.HasPrefix(caddy.Image, "caddy:2.") {
		t.Errorf("caddy: image %q", caddy.Image)
	}
	for _, p := range []string{"80:80", "443:443"} {
		if !slices.Contains(caddy.Ports, p) {
			t.Errorf("caddy does not publish %s (ACME and HTTPS need both)", p)
		}
	}
	if !slices.Contains(caddy.Volumes, "./deploy/caddy/Caddyfile:/etc/caddy/Caddyfile:ro") || !slices.ContainsFunc(caddy.Volumes, func(v string) bool { return strings.HasSuffix(v, ":/data") }) {
		t.Errorf("caddy: volumes %v; want the Caddyfile and a volume for its certificates (/data)", caddy.Volumes)
	}
	caddyfile, err := os.ReadFile("../../../deploy/caddy/Caddyfile")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"{$FIELDSYNC_API_DOMAIN} {", "reverse_proxy api:8080", "{$FIELDSYNC_FILES_DOMAIN} {", "reverse_proxy minio:9000", "email {$FIELDSYNC_ACME_EMAIL}"} {
		if !strings.Contains(string(caddyfile), want) {
			t.Errorf("the Caddyfile lacks %q", want)
		}
	}
	if strings.Contains(string(caddyfile), "header_up Host") {
		t.Error("the Caddyfile rewrites Host, which breaks every presigned URL")
	}

	// MinIO: built from the module version the tests run against.
	if c.Services["minio"].Build != "deploy/minio" {
		t.Errorf("minio: build %v; want deploy/minio", c.Services["minio"].Build)
	}
	dockerfile, err := os.ReadFile("../../../deploy/minio/Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	services, err := os.ReadFile("../../../.ci/services.sh")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`MINIO_MODULE="github.com/minio/minio@([^"]+)"`).FindSubmatch(services)
	if m == nil || !strings.Contains(string(dockerfile), "ARG MINIO_VERSION="+string(m[1])+"\n") {
		t.Errorf("deploy/minio/Dockerfile does not build the MinIO of .ci/services.sh (%s)", m)
	}

	ignore, err := os.ReadFile("../../../.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(ignore), "\n")
	for _, want := range []string{".git", "data", "**/node_modules"} {
		if !slices.Contains(lines, want) {
			t.Errorf(".dockerignore does not exclude %s", want)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := exec.CommandContext(ctx, "docker", "compose", "version").Run(); err != nil {
		t.Logf("docker compose is not installed (%v): `docker compose config` not run; the file was checked as parsed above", err)
		return
	}
	cmd := exec.CommandContext(ctx, "docker", "compose", "-f", "../../../docker-compose.yml", "config", "-q")
	cmd.Env = append(os.Environ(), "FIELDSYNC_DB_PASSWORD=p", "FIELDSYNC_DB_ROOT_PASSWORD=p", "FIELDSYNC_S3_ACCESS_KEY=k",
		"FIELDSYNC_S3_SECRET_KEY=secret-key", "FIELDSYNC_SECRET=0123456789abcdef0123456789abcdef", "FIELDSYNC_API_DOMAIN=api.example.cn",
		"FIELDSYNC_FILES_DOMAIN=files.example.cn", "FIELDSYNC_ACME_EMAIL=ops@example.cn")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("docker compose config: %v\n%s", err, out)
	}
}
