package mongotest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"
)

// Labels put on the containers of this package, to find leaked ones.
const (
	labelPID  = "org.matcare.mongotest.pid"
	labelHost = "org.matcare.mongotest.host"
)

// containerStartTimeout bounds the wait for a container's port.
const containerStartTimeout = 60 * time.Second

// image returns the image named by MATCARE_TEST_IMAGE or DefaultImage.
func image() string {
	if v := os.Getenv(EnvImage); v != "" {
		return v
	}
	return DefaultImage
}

// isMongoImage reports whether img is a MongoDB image, which takes mongod
// options rather than FerretDB's.
func isMongoImage(img string) bool {
	return strings.Contains(strings.ToLower(img), "mongo")
}

// containerArgs returns the command that makes img listen on 127.0.0.1:port.
func containerArgs(img string, port int) []string {
	if isMongoImage(img) {
		return []string{"--bind_ip", "127.0.0.1", "--port", strconv.Itoa(port)}
	}
	return []string{"--listen-addr=127.0.0.1:" + strconv.Itoa(port), "--sqlite-dir=/data"}
}

// setTestcontainersEnv disables Ryuk (the reaper container would have to be
// pulled) and makes testcontainers connect to 127.0.0.1, unless the user
// chose otherwise. It must run before testcontainers reads its
// configuration.
var setTestcontainersEnv = sync.OnceFunc(func() {
	for k, v := range map[string]string{
		"TESTCONTAINERS_RYUK_DISABLED": "true",
		"TESTCONTAINERS_HOST_OVERRIDE": "127.0.0.1",
	} {
		if _, ok := os.LookupEnv(k); !ok {
			_ = os.Setenv(k, v)
		}
	}
})

// startContainer starts a container of image() with host networking that
// listens on a free port of 127.0.0.1. If logf is not nil, testcontainers'
// messages go to it; otherwise they are returned only in errors.
func startContainer(ctx context.Context, logf func(format string, args ...any)) (*Server, error) {
	setTestcontainersEnv()
	img := image()

	var logs bytes.Buffer
	var logMu sync.Mutex
	logger := printfFunc(func(format string, args ...any) {
		if logf != nil {
			logf(format, args...)
		}
		logMu.Lock()
		fmt.Fprintf(&logs, format+"\n", args...)
		logMu.Unlock()
	})

	if err := checkDocker(ctx, img); err != nil {
		return nil, err
	}

	host, _ := os.Hostname()
	var lastErr error
	for attempt := 1; attempt <= 3; attempt++ {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		p := strconv.Itoa(port) + "/tcp"
		ctr, err := testcontainers.Run(ctx, img,
			testcontainers.WithLogger(logger),
			testcontainers.WithCmd(containerArgs(img, port)...),
			testcontainers.WithLabels(map[string]string{
				labelPID:  strconv.Itoa(os.Getpid()),
				labelHost: host,
			}),
			testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) {
				hc.NetworkMode = "host"
			}),
			testcontainers.WithWaitStrategy(
				wait.ForListeningPort(p).SkipInternalCheck().WithStartupTimeout(containerStartTimeout)),
		)
		if err == nil {
			return &Server{
				kind: KindContainer,
				uri:  fmt.Sprintf("mongodb://127.0.0.1:%d/", port),
				stop: func() error {
					return testcontainers.TerminateContainer(ctr)
				},
			}, nil
		}
		lastErr = fmt.Errorf("start container from %s on 127.0.0.1:%d (attempt %d): %w%s", img, port, attempt, err, containerLogs(ctx, ctr))
		_ = testcontainers.TerminateContainer(ctr)
	}
	logMu.Lock()
	defer logMu.Unlock()
	return nil, fmt.Errorf("%w\ntestcontainers log:\n%s", lastErr, logs.String())
}

// checkDocker connects to Docker, removes the containers leaked by dead test
// processes, and checks that img exists locally unless pulling is allowed.
func checkDocker(ctx context.Context, img string) error {
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return fmt.Errorf("%s=1 but Docker is not usable (run .ci/docker.sh): %w", EnvDocker, err)
	}
	defer cli.Close()

	removeStaleContainers(ctx, cli.Client)

	if v, _ := strconv.ParseBool(os.Getenv(EnvPull)); v {
		return nil
	}
	if _, err := cli.ImageInspect(ctx, img); err != nil {
		if cerrdefs.IsNotFound(err) {
			return fmt.Errorf("image %s is not present locally and pulling is off "+
				"(build matcare-ferretdb:test with .ci/docker.sh, or set %s=1)", img, EnvPull)
		}
		return fmt.Errorf("inspect image %s: %w", img, err)
	}
	return nil
}

// removeStaleContainers removes the containers of this package whose test
// process, on this host, has exited (Ryuk is disabled, so nothing else
// does).
func removeStaleContainers(ctx context.Context, cli *client.Client) {
	host, _ := os.Hostname()
	res, err := cli.ContainerList(ctx, client.ContainerListOptions{
		All:     true,
		Filters: make(client.Filters).Add("label", labelPID),
	})
	if err != nil {
		return
	}
	for _, c := range res.Items {
		if c.Labels[labelHost] != host {
			continue
		}
		pid, err := strconv.Atoi(c.Labels[labelPID])
		if err != nil || pid == os.Getpid() || processAlive(pid) {
			continue
		}
		_, _ = cli.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true})
	}
}

// containerLogs returns the last output of ctr for an error message.
func containerLogs(ctx context.Context, ctr *testcontainers.DockerContainer) string {
	if ctr == nil {
		return ""
	}
	rc, err := ctr.Logs(ctx)
	if err != nil {
		return ""
	}
	defer rc.Close()
	b, _ := io.ReadAll(io.LimitReader(rc, 1<<16))
	if len(b) == 0 {
		return ""
	}
	return "\ncontainer output:\n" + string(b)
}

// freePort returns a TCP port of 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	addr, ok := l.Addr().(*net.TCPAddr)
	if !ok {
		return 0, errors.New("not a TCP address")
	}
	return addr.Port, nil
}

// printfFunc adapts a function to testcontainers' log.Logger.
type printfFunc func(format string, args ...any)

// Printf calls f.
func (f printfFunc) Printf(format string, args ...any) { f(format, args...) }
