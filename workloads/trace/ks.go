package trace

import (
	"math"
	"slices"
)

// KSOneSample is the Kolmogorov-Smirnov statistic D = sup|F_n(x) - F(x)| of
// the sample xs against the continuous CDF cdf. xs is sorted in place.
func KSOneSample(xs []float64, cdf func(float64) float64) float64 {
	slices.Sort(xs)
	n := float64(len(xs))
	d := 0.0
	for i, x := range xs {
		f := cdf(x)
		d = max(d, f-float64(i)/n, float64(i+1)/n-f)
	}
	return d
}

// KSTwoSample is the two-sample Kolmogorov-Smirnov statistic
// D = sup|F_a(x) - F_b(x)|. a and b are sorted in place.
func KSTwoSample(a, b []float64) float64 {
	if len(a) == 0 || len(b) == 0 {
		return 1
	}
	slices.Sort(a)
	slices.Sort(b)
	na, nb := float64(len(a)), float64(len(b))
	i, j, d := 0, 0, 0.0
	for i < len(a) && j < len(b) {
		x := min(a[i], b[j])
		for i < len(a) && a[i] == x {
			i++
		}
		for j < len(b) && b[j] == x {
			j++
		}
		d = max(d, math.Abs(float64(i)/na-float64(j)/nb))
	}
	return d
}

// KSPValue is the asymptotic p-value of statistic d for effective sample size
// n (len(xs) for one sample, n1*n2/(n1+n2) for two), with Stephens'
// small-sample correction.
func KSPValue(d, n float64) float64 {
	if n <= 0 {
		return 1
	}
	sn := math.Sqrt(n)
	l := (sn + 0.12 + 0.11/sn) * d
	if l < 0.2 {
		return 1
	}
	p := 0.0
	for k := 1; k <= 100; k++ {
		term := 2 * math.Exp(-2*float64(k*k)*l*l)
		if k%2 == 0 {
			term = -term
		}
		p += term
		if math.Abs(term) < 1e-12 {
			break
		}
	}
	return min(max(p, 0), 1)
}
