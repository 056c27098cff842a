package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/yuncan/yuncan/internal/geo"
)

func cmdBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "alerts" {
		return errors.New("bench needs a benchmark: yuncan bench alerts [flags]")
	}
	return benchAlerts(ctx, args[1:], stdout, stderr)
}

// alertsReport is the one JSON object `yuncan bench alerts` prints. Times
// are wall-clock milliseconds; *_runs list every timed run, the plain field
// their median. Fields that were not measured are null.
type alertsReport struct {
	Benchmark  string  `json:"benchmark"`
	Population string  `json:"population"`
	Users      int     `json:"users"`
	Lat        float64 `json:"lat"`
	Lng        float64 `json:"lng"`
	RadiusKm   float64 `json:"radius_km"`
	Runs       int     `json:"runs"`
	// Recipients is what the index selected; Exact is the brute-force
	// Haversine count over the same population. They must be equal.
	Recipients   int       `json:"recipients"`
	Exact        int       `json:"exact"`
	SelectMs     float64   `json:"select_ms"`
	SelectMsRuns []float64 `json:"select_ms_runs"`
	// FanoutMs, with --fanout, is the time from the selected recipients
	// to every batch durably stored on an embedded JetStream (fsync per
	// message) in a temporary folder, with the alert and its ring recorded
	// on SQLite there too: one ring of --radius-km around the centre, opened
	// the way the scheduler opens it. FanoutWithSelectMs adds the
	// selection; FanoutRecipients and FanoutBatches are what was enqueued.
	// Null without --fanout.
	FanoutMs           *float64 `json:"fanout_ms"`
	FanoutWithSelectMs *float64 `json:"fanout_with_select_ms"`
	FanoutRecipients   *int     `json:"fanout_recipients"`
	FanoutBatches      *int     `json:"fanout_batches"`
	// IndexBytesPerUser is Index.Bytes over the users, after loading;
	// IndexHeapBytesPerUser is the Go heap's growth over the same load,
	// a cross-check; the after-updates figure is Bytes once every user
	// has moved.
	IndexBytesPerUser             float64 `json:"index_bytes_per_user"`
	IndexHeapBytesPerUser         float64 `json:"index_heap_bytes_per_user"`
	IndexBytesPerUserAfterUpdates float64 `json:"index_bytes_per_user_after_updates"`
	LoadMs                        float64 `json:"load_ms"`
	// UpdatesPerSec is one Set per user, each moved a few tens of metres,
	// in ID order (so in no spatial order); BatchUpdatesPerSec is the same
	// through SetMany in batches of batchSize.
	UpdatesPerSec      float64 `json:"updates_per_sec"`
	BatchUpdatesPerSec float64 `json:"batch_updates_per_sec"`
	BatchSize          int     `json:"batch_size"`
	// ExactScanMs is one plain Haversine scan over every user, the
	// reference count.
	ExactScanMs float64 `json:"exact_scan_ms"`
	// Redis figures, when --redis is given: GEOSEARCH ... BYRADIUS without
	// COUNT or sorting, timed from the client. Redis measures on its own
	// sphere (radius 6372.797 km) from 52-bit geohashes, so its count
	// differs slightly from the exact one.
	RedisMs         *float64  `json:"redis_ms"`
	RedisMsRuns     []float64 `json:"redis_ms_runs"`
	RedisRecipients *int      `json:"redis_recipients"`
	RedisLoadMs     *float64  `json:"redis_load_ms"`
	RedisSkipped    *int      `json:"redis_skipped"`
	SpeedupVsRedis  *float64  `json:"speedup_vs_redis"`
	// The machine: how many processors Go uses, and the load average when
	// the benchmark ended (other work on the machine slows every figure).
	GoMaxProcs int      `json:"gomaxprocs"`
	LoadAvg1m  *float64 `json:"load_avg_1m"`
}

const batchSize = 10000

func benchAlerts(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench alerts", flag.ContinueOnError)
	fs.SetOutput(stderr)
	users := fs.Int("users", 1_000_000, "generate this many users (ignored with --population)")
	seed := fs.Int64("seed", 1, "seed of the generated population")
	popFile := fs.String("population", "", "read the population from this CSV file (id,lat,lng) instead")
	lat := fs.Float64("lat", 34.7466, "latitude of the alert's centre (default Zhengzhou)")
	lng := fs.Float64("lng", 113.6254, "longitude of the alert's centre")
	radius := fs.Float64("radius-km", 100, "radius of the ring in kilometres")
	runs := fs.Int("runs", 9, "timed runs of each query; the report gives their median")
	redisAddr := fs.String("redis", "", "also time Redis GEOSEARCH on the same population at this address, e.g. 127.0.0.1:6379")
	fanout := fs.Bool("fanout", false, "also time the fan-out: every recipient enqueued in batches on an embedded JetStream, the ring recorded on SQLite, in a temporary folder")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: yuncan bench alerts [flags]\n\nMeasures selecting an alert's recipients from the geo index and prints one JSON object.\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("bench alerts: unexpected argument %q", fs.Arg(0))
	}
	switch {
	case *fanout && !(*radius > 0):
		return errors.New("bench alerts: --fanout needs --radius-km more than 0")
	case *runs < 1:
		return errors.New("bench alerts: --runs must be at least 1")
	case *popFile == "" && (*users < 1 || *users > math.MaxUint32):
		return errors.New("bench alerts: --users must be from 1 to 4294967295")
	}
	if err := geo.ValidateLatLng(*lat, *lng); err != nil {
		return fmt.Errorf("bench alerts: centre: %w", err)
	}
	if !(*radius >= 0 && *radius <= geo.MaxRadiusKm) {
		return fmt.Errorf("bench alerts: --radius-km must be from 0 to %v", geo.MaxRadiusKm)
	}

	rep := alertsReport{Benchmark: "alerts", Lat: *lat, Lng: *lng, RadiusKm: *radius, Runs: *runs,
		GoMaxProcs: runtime.GOMAXPROCS(0), BatchSize: batchSize}
	var pts []geo.Point
	if *popFile != "" {
		explicitUsers := false
		fs.Visit(func(f *flag.Flag) { explicitUsers = explicitUsers || f.Name == "users" })
		if explicitUsers {
			return errors.New("bench alerts: give --users or --population, not both")
		}
		var err error
		if pts, err = readPopulation(*popFile); err != nil {
			return err
		}
		rep.Population = "file " + *popFile
	} else {
		pts = geo.Generate(*users, *seed)
		rep.Population = fmt.Sprintf("generated, seed %d", *seed)
	}

	// Build the index, measuring its memory both ways.
	var idx geo.Index
	heap0 := heapInUse()
	t0 := time.Now()
	if err := idx.Load(pts); err != nil {
		return fmt.Errorf("bench alerts: load: %w", err)
	}
	rep.LoadMs = ms(time.Since(t0))
	heap1 := heapInUse()
	rep.Users = idx.Len()
	if rep.Users == 0 {
		return errors.New("bench alerts: the population is empty")
	}
	rep.IndexBytesPerUser = round2(float64(idx.Bytes()) / float64(rep.Users))
	rep.IndexHeapBytesPerUser = round2(float64(heap1-heap0) / float64(rep.Users))

	t0 = time.Now()
	rep.Exact = exactCount(pts, *lat, *lng, *radius)
	rep.ExactScanMs = ms(time.Since(t0))

	// One untimed run warms the caches and checks the count.
	dst, err := idx.AppendWithin(nil, *lat, *lng, *radius)
	if err != nil {
		return err
	}
	rep.Recipients = len(dst)
	for range *runs {
		if err := ctx.Err(); err != nil {
			return err
		}
		t0 = time.Now()
		dst, _ = idx.AppendWithin(dst[:0], *lat, *lng, *radius)
		rep.SelectMsRuns = append(rep.SelectMsRuns, ms(time.Since(t0)))
		if len(dst) != rep.Recipients {
			rep.Recipients = len(dst)
			break
		}
	}
	rep.SelectMs = median(rep.SelectMsRuns)

	if *fanout {
		if err := benchFanout(ctx, &idx, pts, &rep); err != nil {
			return err
		}
	}

	if *redisAddr != "" && rep.Recipients == rep.Exact {
		if err := benchRedis(ctx, *redisAddr, pts, &rep); err != nil {
			return err
		}
	}

	// Every user moves a few tens of metres, one Set at a time, then back
	// in batches; the ring must still be exact afterwards.
	moved := make([]geo.Point, len(pts))
	for i, p := range pts {
		moved[i] = geo.Point{ID: p.ID, Lat: max(-90, min(90, p.Lat+jitter(i))), Lng: wrapLng(p.Lng + jitter(i+1))}
	}
	t0 = time.Now()
	for _, p := range moved {
		if err := idx.Set(p.ID, p.Lat, p.Lng); err != nil {
			return err
		}
	}
	rep.UpdatesPerSec = math.Round(float64(len(moved)) / time.Since(t0).Seconds())
	if got, _ := idx.AppendWithin(dst[:0], *lat, *lng, *radius); len(got) != exactCount(moved, *lat, *lng, *radius) {
		return fmt.Errorf("bench alerts: after moving every user the index selects %d, the exact count is %d",
			len(got), exactCount(moved, *lat, *lng, *radius))
	}
	t0 = time.Now()
	for i := 0; i < len(pts); i += batchSize {
		if err := idx.SetMany(pts[i:min(i+batchSize, len(pts))]); err != nil {
			return err
		}
	}
	rep.BatchUpdatesPerSec = math.Round(float64(len(pts)) / time.Since(t0).Seconds())
	rep.IndexBytesPerUserAfterUpdates = round2(float64(idx.Bytes()) / float64(rep.Users))
	if got, _ := idx.AppendWithin(dst[:0], *lat, *lng, *radius); len(got) != rep.Exact {
		return fmt.Errorf("bench alerts: after moving every user back the index selects %d, the exact count is %d", len(got), rep.Exact)
	}
	rep.LoadAvg1m = loadAverage()

	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(rep); err != nil {
		return err
	}
	if rep.Recipients != rep.Exact {
		return fmt.Errorf("bench alerts: the index selected %d users, the exact count is %d", rep.Recipients, rep.Exact)
	}
	if rep.FanoutRecipients != nil && *rep.FanoutRecipients != rep.Recipients {
		return fmt.Errorf("bench alerts: the fan-out enqueued %d recipients, the ring holds %d", *rep.FanoutRecipients, rep.Recipients)
	}
	return nil
}

func readPopulation(name string) ([]geo.Point, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("bench alerts: %w", err)
	}
	defer f.Close()
	pts, err := geo.ReadCSV(f)
	if err != nil {
		return nil, fmt.Errorf("bench alerts: %s: %w", name, err)
	}
	return pts, nil
}

// exactCount is the reference: a plain scan with the index's own distance.
func exactCount(pts []geo.Point, lat, lng, radiusKm float64) int {
	n := 0
	for _, p := range pts {
		if geo.Haversine(lat, lng, p.Lat, p.Lng) <= radiusKm {
			n++
		}
	}
	return n
}

// benchRedis loads the population into a fresh Redis key with pipelined
// GEOADDs, times GEOSEARCH BYRADIUS, and deletes the key.
func benchRedis(ctx context.Context, addr string, pts []geo.Point, rep *alertsReport) (err error) {
	rdb := redis.NewClient(&redis.Options{Addr: addr, DisableIdentity: true,
		ReadTimeout: time.Minute, WriteTimeout: time.Minute,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}})
	defer rdb.Close()
	key := fmt.Sprintf("yuncan:bench:alerts:%d:%d", os.Getpid(), time.Now().UnixNano())
	defer func() {
		// The key is deleted even when the context is done.
		if derr := rdb.Del(context.WithoutCancel(ctx), key).Err(); derr != nil && err == nil {
			err = fmt.Errorf("bench alerts: redis: delete %s: %w", key, derr)
		}
	}()
	t0 := time.Now()
	skipped := 0
	locs := make([]*redis.GeoLocation, 0, batchSize)
	flush := func() error {
		if len(locs) == 0 {
			return nil
		}
		pipe := rdb.Pipeline()
		for i := 0; i < len(locs); i += 1000 {
			pipe.GeoAdd(ctx, key, locs[i:min(i+1000, len(locs))]...)
		}
		_, err := pipe.Exec(ctx)
		locs = locs[:0]
		return err
	}
	for _, p := range pts {
		// Redis refuses latitudes beyond ±85.05112878 (Web Mercator).
		if math.Abs(p.Lat) > 85.05112878 {
			skipped++
			continue
		}
		locs = append(locs, &redis.GeoLocation{Name: strconv.FormatUint(uint64(p.ID), 10), Longitude: p.Lng, Latitude: p.Lat})
		if len(locs) == cap(locs) {
			if err := flush(); err != nil {
				return fmt.Errorf("bench alerts: redis: %w", err)
			}
		}
	}
	if err := flush(); err != nil {
		return fmt.Errorf("bench alerts: redis: %w", err)
	}
	loadMs := ms(time.Since(t0))
	q := &redis.GeoSearchQuery{Longitude: rep.Lng, Latitude: rep.Lat, Radius: rep.RadiusKm, RadiusUnit: "km"}
	got, err := rdb.GeoSearch(ctx, key, q).Result()
	if err != nil {
		return fmt.Errorf("bench alerts: redis: %w", err)
	}
	var runs []float64
	for range rep.Runs {
		t0 = time.Now()
		if got, err = rdb.GeoSearch(ctx, key, q).Result(); err != nil {
			return fmt.Errorf("bench alerts: redis: %w", err)
		}
		runs = append(runs, ms(time.Since(t0)))
	}
	n, med := len(got), median(runs)
	rep.RedisMs, rep.RedisMsRuns, rep.RedisRecipients, rep.RedisLoadMs, rep.RedisSkipped = &med, runs, &n, &loadMs, &skipped
	if rep.SelectMs > 0 {
		s := math.Round(med/rep.SelectMs*10) / 10
		rep.SpeedupVsRedis = &s
	}
	return nil
}

// jitter is a deterministic move of up to ±0.0005° (about 55 m).
func jitter(i int) float64 {
	h := uint64(i)*0x9e3779b97f4a7c15 + 0x632be59bd9b4e019
	h ^= h >> 29
	return (float64(h%2001) - 1000) * 5e-7
}

func wrapLng(l float64) float64 {
	if l > 180 {
		return l - 360
	}
	if l < -180 {
		return l + 360
	}
	return l
}

// heapInUse returns the live heap after a full collection.
func heapInUse() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// loadAverage returns the one-minute load average where the system shows
// it (Linux), or nil.
func loadAverage() *float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return nil
	}
	f, err := strconv.ParseFloat(strings.Fields(string(b) + " x")[0], 64)
	if err != nil {
		return nil
	}
	return &f
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return round3((s[len(s)/2-1] + s[len(s)/2]) / 2)
}

func ms(d time.Duration) float64 { return round3(float64(d.Nanoseconds()) / 1e6) }

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }

func round2(x float64) float64 { return math.Round(x*100) / 100 }
