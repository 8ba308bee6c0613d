package plots

import "fmt"

// RecoveryPanel is one failover target: recovery time against cluster
// size, one series per system and fault kind, each point the median over
// repetitions with the min–max range as its bar.
type RecoveryPanel struct {
	Target string
	Series []Series
}

// recoveryTitles name the panels as the Kubedirect slides' failure
// recovery figure does; other targets are titled by their name.
var recoveryTitles = map[string]string{
	"autoscaler": "Autoscaler",
	"deployment": "Deployment controller",
	"replicaset": "ReplicaSet controller",
	"scheduler":  "Scheduler",
	"nodeagent":  "Node agent",
	"apiserver":  "API server",
}

// RecoveryFigures draws one panel per target, named failover-<target>:
// "recovery stays cheap and scalable" is read across a panel's sizes.
func RecoveryFigures(panels []RecoveryPanel) ([]Figure, error) {
	var out []Figure
	for _, pn := range panels {
		title := recoveryTitles[pn.Target]
		if title == "" {
			title = pn.Target
		}
		p, err := LatencyVsX("Failure recovery: "+title, "cluster size (pods)", "recovery time (ms)", pn.Series)
		if err != nil {
			return out, fmt.Errorf("plots: failover panel %s: %w", pn.Target, err)
		}
		out = append(out, Figure{Name: "failover-" + pn.Target, Plot: p})
	}
	return out, nil
}
