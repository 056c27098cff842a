package geo

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/yuncan/yuncan"
)

// ReadCSV reads a population as CSV rows id,lat,lng (an optional header row
// naming those columns is skipped). A malformed row is an Invalid error
// naming its line. IDs may repeat here; Index.Load refuses them.
func ReadCSV(r io.Reader) ([]Point, error) {
	cr := csv.NewReader(bufio.NewReaderSize(r, 1<<16))
	cr.FieldsPerRecord = 3
	cr.ReuseRecord = true
	var pts []Point
	for first := true; ; first = false {
		rec, err := cr.Read()
		if err == io.EOF {
			return pts, nil
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, yuncan.Errorf(yuncan.Invalid, "population line %d: %v", pe.Line, pe.Err)
			}
			return nil, fmt.Errorf("geo: read population: %w", err)
		}
		line, _ := cr.FieldPos(0)
		if first && strings.EqualFold(strings.TrimSpace(rec[0]), "id") {
			continue
		}
		p, err := parseRow(rec)
		if err != nil {
			return nil, yuncan.Errorf(yuncan.Invalid, "population line %d: %s", line, err)
		}
		pts = append(pts, p)
	}
}

func parseRow(rec []string) (Point, error) {
	id, err := strconv.ParseUint(strings.TrimSpace(rec[0]), 10, 32)
	if err != nil {
		return Point{}, fmt.Errorf("id %q is not a number from 0 to 4294967295", rec[0])
	}
	lat, err := strconv.ParseFloat(strings.TrimSpace(rec[1]), 64)
	if err != nil {
		return Point{}, fmt.Errorf("lat %q is not a number", rec[1])
	}
	lng, err := strconv.ParseFloat(strings.TrimSpace(rec[2]), 64)
	if err != nil {
		return Point{}, fmt.Errorf("lng %q is not a number", rec[2])
	}
	if err := ValidateLatLng(lat, lng); err != nil {
		return Point{}, err
	}
	return Point{ID: uint32(id), Lat: lat, Lng: lng}, nil
}

// WriteCSV writes pts as id,lat,lng rows under a header, with the shortest
// decimals that read back to the same float64 values.
func WriteCSV(w io.Writer, pts []Point) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	bw.WriteString("id,lat,lng\n")
	var buf []byte
	for _, p := range pts {
		buf = strconv.AppendUint(buf[:0], uint64(p.ID), 10)
		buf = append(buf, ',')
		buf = strconv.AppendFloat(buf, p.Lat, 'g', -1, 64)
		buf = append(buf, ',')
		buf = strconv.AppendFloat(buf, p.Lng, 'g', -1, 64)
		buf = append(buf, '\n')
		if _, err := bw.Write(buf); err != nil {
			return fmt.Errorf("geo: write population: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("geo: write population: %w", err)
	}
	return nil
}
