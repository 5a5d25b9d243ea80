package bus

import (
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/weft-dev/weft/internal/confkey"
)

// Config says how to reach NATS and how to keep the streams. The zero value
// is an embedded server with memory storage that listens on no port.
type Config struct {
	// URL of an external NATS server or cluster (comma-separated). Empty
	// starts an embedded server in-process.
	URL string `yaml:"url"`
	// Listen makes the embedded server accept clients on host:port (a bare
	// port means loopback), so other weft processes can join it.
	Listen string `yaml:"listen"`
	// DataDir keeps the embedded server's JetStream data on disk; empty
	// keeps streams in memory (weft hunt).
	DataDir string `yaml:"data_dir"`

	// Credentials for an external server.
	CredsFile string `yaml:"creds_file"`
	User      string `yaml:"user"`
	// Password is read from the environment variable PasswordEnv, never
	// taken on the command line.
	PasswordEnv string `yaml:"password_env"`
	TLS         TLS    `yaml:"tls"`

	// Replicas of each stream on a cluster (1 on the embedded server).
	Replicas int `yaml:"replicas"`
	// MaxAge bounds how long events stay in the streams (0: 24h on disk,
	// interest-based removal in memory).
	MaxAge time.Duration `yaml:"max_age"`
	// MaxBytes bounds each stream; publishers wait while it is full.
	MaxBytes int64 `yaml:"max_bytes" unit:"bytes"`
	// BatchSize is the number of events per NATS message.
	BatchSize int `yaml:"batch_size"`
	// Partitions splits the raw and the ECS stream by host into this many
	// partitions (weft.raw.<partition>.<host>, weft.ecs.<partition>.<host>),
	// so several normalizers, and a group of correlators, share the work
	// while each host's events stay in order. Every process on one bus
	// must use the same number. 0 means DefaultPartitions.
	Partitions int `yaml:"partitions"`
}

// TLS options for an external server.
type TLS struct {
	CAFile   string `yaml:"ca_file"`
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
}

// Defaults.
const (
	DefaultBatchSize  = 256
	DefaultPartitions = 8
	DefaultMaxAge     = 24 * time.Hour
	// defaultMemBytes bounds each stream kept in memory (weft hunt): a
	// few dozen batches in flight between two stages, and room for the
	// largest message the embedded server takes (8 MiB). More only holds
	// more of the input at once: the collector, which reads far faster
	// than the normalizer, would fill any bound, and the process's memory
	// would grow with it.
	defaultMemBytes = 16 << 20
)

// Validate reports configuration mistakes before anything is started,
// all of them, each with its key (confkey).
func (c Config) Validate() error {
	var errs []error
	if c.URL != "" && c.Listen != "" {
		errs = append(errs, confkey.Errorf("listen", "applies to the embedded server only; it cannot be set together with url"))
	}
	if c.URL != "" && c.DataDir != "" {
		errs = append(errs, confkey.Errorf("data_dir", "applies to the embedded server only; it cannot be set together with url"))
	}
	if c.Listen != "" {
		if _, err := listenAddr(c.Listen); err != nil {
			errs = append(errs, confkey.Errorf("listen", "%q is not a [host:]port", c.Listen))
		}
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		errs = append(errs, confkey.Errorf("tls", "cert_file and key_file go together"))
	}
	for _, f := range []struct {
		key string
		v   int64
	}{{"batch_size", int64(c.BatchSize)}, {"replicas", int64(c.Replicas)}, {"max_bytes", c.MaxBytes}, {"max_age", int64(c.MaxAge)}, {"partitions", int64(c.Partitions)}} {
		if f.v < 0 {
			errs = append(errs, confkey.Errorf(f.key, "must not be negative"))
		}
	}
	if c.Partitions > 1024 {
		errs = append(errs, confkey.Errorf("partitions", "must be at most 1024"))
	}
	return errors.Join(errs...)
}

func (c Config) partitions() int {
	if c.Partitions > 0 {
		return c.Partitions
	}
	return DefaultPartitions
}

func (c Config) batchSize() int {
	if c.BatchSize > 0 {
		return c.BatchSize
	}
	return DefaultBatchSize
}

// listenAddr turns "4222" or ":4222" into a loopback address: exposing the
// bus beyond this machine must be asked for with an explicit host.
func listenAddr(s string) (*net.TCPAddr, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		host, port = "", s
	}
	if host == "" {
		host = "127.0.0.1"
	}
	addr, err := net.ResolveTCPAddr("tcp", net.JoinHostPort(host, port))
	if err != nil {
		return nil, fmt.Errorf("bus: listen %q: %w", s, err)
	}
	return addr, nil
}
