package cloudlab

import (
	"strings"
	"testing"
)

func TestParseCheck(t *testing.T) {
	n := Node{Name: "w1", Host: "10.77.1.11", Port: 22, IP: "10.77.1.11"}
	for _, tc := range []struct {
		out, user, wantErr string
	}{
		{out: "user=root\nlan=ok\n", user: "root"},
		{out: "user=root\nlan=missing: lo 127.0.0.1/8 eth0 10.0.0.5/24 \n", user: "root", wantErr: "LAN address 10.77.1.11 from the inventory is not on it (lo 127.0.0.1/8 eth0 10.0.0.5/24 )"},
		{out: "sudo: a password is required\n", wantErr: "unexpected answer"},
		{out: "", wantErr: "unexpected answer"},
	} {
		user, err := parseCheck(n, tc.out)
		if user != tc.user {
			t.Errorf("%q: user %q, want %q", tc.out, user, tc.user)
		}
		if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("%q: err %v, want %q", tc.out, err, tc.wantErr)
		}
	}
}
