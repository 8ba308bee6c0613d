package trace

import (
	"bufio"
	"io"
	"strconv"
)

// PlanHeader is the header of the CSV written by WritePlan.
const PlanHeader = "hashFunction,index,iatUs,runtimeMs,memoryMiB"

// WritePlan streams the generator's schedule as CSV, functions in row order,
// one line per invocation: HashFunction, the invocation's index within the
// function, the exact float IAT in microseconds (shortest representation that
// reads back to the same float64), runtime in ms and memory in MiB.
func WritePlan(w io.Writer, g *Generator) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	bw.WriteString(PlanHeader + "\n")
	var line []byte
	for {
		fs, err := g.Next()
		if err == io.EOF {
			return bw.Flush()
		}
		if err != nil {
			return err
		}
		for k, inv := range fs.Invocations {
			line = append(line[:0], fs.Function.HashFunction...)
			line = append(line, ',')
			line = strconv.AppendInt(line, int64(k), 10)
			line = append(line, ',')
			line = strconv.AppendFloat(line, inv.IATUs, 'f', -1, 64)
			line = append(line, ',')
			line = strconv.AppendInt(line, int64(inv.RuntimeMs), 10)
			line = append(line, ',')
			line = strconv.AppendInt(line, int64(inv.MemoryMiB), 10)
			line = append(line, '\n')
			if _, err := bw.Write(line); err != nil {
				return err
			}
		}
	}
}
