// ciokeep: containerd's cio copying into a sink that keeps what it is given — the Go counterpart
// of taskio's array collector in `npm run bench`. ciobench's own throughput sink counts and
// discards; a Go collector cannot keep the slice cio hands it (io.Writer forbids retaining p), so
// it copies each write into memory of its own and keeps that, dropping all of it every --keep
// bytes as a batching uploader would. The producer is ciobench's own (`ciobench produce`), so the
// bytes, write sizes and FIFO handling are the same as in every other throughput line.
//
//	ciokeep --ciobench PATH [--bytes 1G] [--chunk 32K] [--keep 64M] [--fifo-dir D] [--rate MB/s]
//
// Prints one JSON line: mb_s, wall_s, cpu_self_s (this process), cpu_children_s (producer), gcs.
//
// With --rate the producer is ciokeep's own paced one instead (ciobench's writes flat out):
//
//	ciokeep produce --stdout P --stderr P --bytes N --chunk N --rate MB/s
//
// It prints one JSON line: producer_s (open to close), cpu_s (its own CPU seconds). It writes
// --chunk bytes per write(2) and sleeps whenever it is more than 100 µs ahead of
// --rate (10^6 bytes per second), so its writes come evenly spaced, as a busy task's do, rather
// than in one burst per timer tick. After falling behind (its reader was slow) it catches up
// flat out, as a task whose writes were blocked does.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/containerd/containerd/cio"
)

// keeper keeps a copy of every write until it holds at least limit bytes, then lets go of all.
// limit 0 keeps nothing (ciobench's counting sink, to check this anchor against ciobench's).
type keeper struct {
	kept        [][]byte
	size, limit int64
	bytes       int64
}

func (k *keeper) Write(p []byte) (int, error) {
	k.bytes += int64(len(p))
	if k.limit == 0 {
		return len(p), nil
	}
	k.kept = append(k.kept, append([]byte(nil), p...))
	if k.size += int64(len(p)); k.size >= k.limit {
		k.kept, k.size = nil, 0
	}
	return len(p), nil
}

func size(s string) int64 {
	if s == "" {
		fail("empty size")
	}
	mult := int64(1)
	switch strings.ToUpper(s[len(s)-1:]) {
	case "K":
		mult = 1 << 10
	case "M":
		mult = 1 << 20
	case "G":
		mult = 1 << 30
	}
	if mult > 1 {
		s = s[:len(s)-1]
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 0 {
		fail("bad size %q", s)
	}
	return v * mult
}

func fail(format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, "ciokeep: "+format+"\n", a...)
	os.Exit(1)
}

func seconds(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }

// produce is the paced producer (see the package comment).
func produce(args []string) {
	fs := flag.NewFlagSet("produce", flag.ExitOnError)
	stdout := fs.String("stdout", "", "stdout fifo path")
	stderr := fs.String("stderr", "", "stderr fifo path (opened, held, closed)")
	bytesFlag := fs.String("bytes", "1G", "bytes to write")
	chunkFlag := fs.String("chunk", "4K", "bytes per write(2)")
	rate := fs.Float64("rate", 100, "MB/s (10^6 bytes per second)")
	_ = fs.Parse(args)
	out, err := os.OpenFile(*stdout, os.O_WRONLY, 0)
	if err != nil {
		fail("%v", err)
	}
	errf, err := os.OpenFile(*stderr, os.O_WRONLY, 0)
	if err != nil {
		fail("%v", err)
	}
	total, chunk := size(*bytesFlag), size(*chunkFlag)
	if chunk <= 0 || *rate <= 0 {
		fail("--chunk and --rate must be positive")
	}
	buf := make([]byte, chunk)
	for i := range buf {
		buf[i] = 'x'
	}
	fd := int(out.Fd())
	t0 := time.Now()
	for sent := int64(0); sent < total; {
		n := chunk
		if total-sent < n {
			n = total - sent
		}
		w, err := syscall.Write(fd, buf[:n])
		if err == syscall.EINTR || err == syscall.EAGAIN {
			continue
		}
		if err != nil {
			fail("write: %v", err)
		}
		sent += int64(w)
		// Raw nanosleep: Go's timers may round a short sleep up to the scheduler's tick.
		if ahead := time.Duration(float64(sent)/(*rate*1e6)*1e9) - time.Since(t0); ahead > 100*time.Microsecond {
			ts := syscall.NsecToTimespec(int64(ahead))
			_ = syscall.Nanosleep(&ts, nil)
		}
	}
	out.Close()
	errf.Close()
	// Its own CPU, so a bench can weigh what the task pays for how its reader reads beside what
	// the reader pays: a reader that lets the pipe fill changes the cost of every write.
	var self syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &self)
	line, _ := json.Marshal(map[string]interface{}{
		"producer_s": time.Since(t0).Seconds(),
		"cpu_s":      seconds(self.Utime) + seconds(self.Stime),
	})
	fmt.Println(string(line))
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "produce" {
		produce(os.Args[2:])
		return
	}
	bench := flag.String("ciobench", "", "path of ciobench (its `produce` is the producer)")
	bytesFlag := flag.String("bytes", "1G", "bytes to copy")
	chunk := flag.String("chunk", "32K", "producer bytes per write(2)")
	keep := flag.String("keep", "64M", "bytes kept before the sink lets go of them all (0: keep nothing)")
	dirFlag := flag.String("fifo-dir", "", "parent of the FIFO directory (default $TMPDIR or /tmp)")
	rate := flag.String("rate", "", "MB/s: ciokeep's own paced producer instead of ciobench's")
	flag.Parse()
	if *bench == "" {
		fail("--ciobench is required")
	}
	want := size(*bytesFlag)
	dir, err := os.MkdirTemp(*dirFlag, "ciokeep-")
	if err != nil {
		fail("%v", err)
	}
	defer os.RemoveAll(dir)

	out, errw := &keeper{limit: size(*keep)}, &keeper{}
	gc0 := new(runtime.MemStats)
	runtime.ReadMemStats(gc0)
	t0 := time.Now()
	io, err := cio.NewCreator(cio.WithStreams(nil, out, errw), cio.WithFIFODir(dir))("bench")
	if err != nil {
		fail("creator: %v", err)
	}
	cfg := io.Config()
	producerBin, producerArgs := *bench, []string{"produce", "--stdout", cfg.Stdout, "--stderr", cfg.Stderr, "--bytes", *bytesFlag, "--chunk", *chunk}
	if *rate != "" {
		if producerBin, err = os.Executable(); err != nil {
			fail("%v", err)
		}
		producerArgs = append(producerArgs, "--rate", *rate)
	}
	producer := exec.Command(producerBin, producerArgs...)
	producer.Stderr = os.Stderr
	if err := producer.Start(); err != nil {
		fail("producer: %v", err)
	}
	io.Wait()
	wall := time.Since(t0).Seconds()
	if err := producer.Wait(); err != nil {
		fail("producer: %v", err)
	}
	io.Cancel()
	if err := io.Close(); err != nil {
		fail("close: %v", err)
	}
	if out.bytes != want {
		fail("received %d bytes, want %d", out.bytes, want)
	}
	gc1 := new(runtime.MemStats)
	runtime.ReadMemStats(gc1)
	var self, children syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &self)
	_ = syscall.Getrusage(syscall.RUSAGE_CHILDREN, &children)
	line, _ := json.Marshal(map[string]interface{}{
		"bench":          "throughput",
		"sink":           "keep",
		"keep":           out.limit,
		"bytes":          out.bytes,
		"chunk":          size(*chunk),
		"wall_s":         wall,
		"mb_s":           float64(out.bytes) / wall / 1e6,
		"cpu_self_s":     seconds(self.Utime) + seconds(self.Stime),
		"cpu_children_s": seconds(children.Utime) + seconds(children.Stime),
		"gcs":            gc1.NumGC - gc0.NumGC,
		"peak_rss_kib":   self.Maxrss,
		"go":             runtime.Version(),
	})
	fmt.Println(string(line))
}
