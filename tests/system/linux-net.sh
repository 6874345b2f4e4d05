#!/usr/bin/env bash
# System test: the e1000 and user-mode networking (libslirp), in one Linux
# boot. The host serves a random 1 MiB file over HTTP on 127.0.0.1; the
# default guest (images/build-default.sh) boots with
#   -nic user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:FWD-:80
#   -object filter-dump,id=f0,netdev=n0,file=net.pcap
# loads its e1000 driver, gets 10.0.2.15 from slirp's DHCP server with
# busybox udhcpc, fetches the file from the host as 10.0.2.2 with wget (its
# SHA-256 must equal the host's), and serves a page with busybox httpd on
# port 80, which the host fetches through the forwarded port FWD.
# restrict=on: an address other than the host's (slirp's DNS alias 10.0.2.3,
# which slirp would answer itself) must stay unreachable. After the guest
# powers off, tcpdump reads the pcap: it must hold the DHCP exchange
# (DISCOVER, OFFER, REQUEST, ACK) in both directions.
# Nothing leaves the machine: the guest reaches only slirp and the host's
# loopback, and no name is ever looked up.
#   linux-net.sh BT86 [IMAGE]
# Skips (77) when the image has not been built, unless BT86_REQUIRE_LINUX=1.
bt86=$1
img=${2:-$(dirname "$0")/../../images/out/disk.img}
. "$(dirname "$0")/guest.sh"
guest_need linux-net "$img"
for tool in python3 tcpdump; do
  if ! command -v $tool >/dev/null; then
    [ "${BT86_REQUIRE_LINUX:-0}" = 1 ] && { echo "linux-net: $tool missing"; exit 1; }
    echo "linux-net: skipped: $tool missing (tests/install-deps.sh)"
    exit 77
  fi
done

www=$(mktemp -d)
head -c 1048576 /dev/urandom > "$www/file"
want=$(sha256sum "$www/file" | cut -d' ' -f1)
# The host's HTTP server on a free port of 127.0.0.1 (it says which).
python3 -u -m http.server --bind 127.0.0.1 --directory "$www" 0 > "$www/server.log" 2>&1 &
server=$!
cleanup_host() { kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$www"; }
port=
for _ in $(seq 1 50); do
  port=$(sed -n 's/.*Serving HTTP on 127.0.0.1 port \([0-9]*\).*/\1/p' "$www/server.log")
  [ -n "$port" ] && break
  sleep 0.2
done
[ -n "$port" ] || { echo "linux-net: the host's HTTP server did not start"; cat "$www/server.log"; cleanup_host; exit 1; }
# A free port for the forward (bound and released: slirp binds it next).
fwd=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

guest_start "$bt86" -m 256 -hda "$img" -snapshot -nographic -no-reboot -max-insns 60000000000 \
  -nic "user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:$fwd-:80" \
  -object "filter-dump,id=f0,netdev=n0,file=$www/net.pcap"
trap 'exec 3>&-; kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"; cleanup_host' EXIT
guest_wait_prompt
send 'load-net-drivers && echo NET-DRIVER-OK' 300
send 'ip link set eth0 up && udhcpc -i eth0 -n -q -t 10 -T 2 && ip -4 addr show eth0' 300
send "wget -q -O /tmp/file http://10.0.2.2:$port/file && sha256sum /tmp/file" 600
send 'ping -c 1 -W 3 10.0.2.3 >/dev/null 2>&1 && echo REACHED-OTHER || echo OTHER-UNREACHABLE' 120
send 'echo "bt86 guest page $((6*7))" > /www/index.html && httpd -p 80 -h /www && echo HTTPD-UP' 120
page=$(python3 - "$fwd" <<'EOF'
import sys, urllib.request
try:
    print(urllib.request.urlopen("http://127.0.0.1:%s/index.html" % sys.argv[1], timeout=120).read().decode().strip())
except Exception as e:
    print("host fetch failed: %s" % e)
EOF
)
guest_poweroff
sed -n '/bt86 guest/,$p' "$out" | tr -d '\r' | grep -v '^$' | head -60
check '^NET-DRIVER-OK'
check 'inet 10\.0\.2\.15/24'
check "^$want +/tmp/file"
check '^OTHER-UNREACHABLE'
check '^HTTPD-UP'
if [ "$page" != "bt86 guest page 42" ]; then
  echo "linux-net: the host fetched '$page' through the forwarded port"; fail=1
fi
check_powered_off
check_no "Kernel panic" "Oops" "BUG:"
if grep -q '^REACHED-OTHER' "$out"; then echo "linux-net: restrict=on let the guest reach 10.0.2.3"; fail=1; fi
dhcp=$(tcpdump -r "$www/net.pcap" -n -v 'udp port 67 or udp port 68' 2>/dev/null)
for msg in Discover Offer Request ACK; do
  if ! grep -q "DHCP-Message (53), length 1: $msg" <<<"$dhcp"; then
    echo "linux-net: the pcap has no DHCP $msg"; fail=1
  fi
done
[ $fail = 0 ] && echo "linux-net: ok"
exit $fail
