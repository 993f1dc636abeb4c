"""IP-literal SSRF test vectors collected from four peer libraries.

Plain data for the pycurlcb.ssrf.Policy default-deny table, which must be at
least as strict as the strictest of these peers on their own vectors:

* advocate      -- JordanMilne/Advocate (Python, requests add-on)
* smokescreen   -- stripe/smokescreen (Go egress proxy)
* ssrf_filter   -- arkadiyt/ssrf_filter (Ruby gem)
* safeurl       -- doyensec/safeurl (Go), IncludeSecurity/safeurl-php and
                   IncludeSecurity/safeurl-python (ports of fin1te's SafeCurl)

Provenance: read from stored copies of those public repositories (each
citation names the path and the commit of the copy that was read; a peer's
current HEAD may differ). Nothing here is copied code, only address literals.

Rules used when extracting:

* Only IP literals, each a valid ``ipaddress.ip_address()`` input (brackets,
  ports, paths and zone ids stripped). Host names and URLs are not included.
* Non-standard IPv4 spellings in the peers' tests (decimal 2130706433, octal,
  hex, short forms such as 127.1) are skipped: a resolver never hands those
  to connect().
* Where a peer denies a CIDR range by default instead of testing addresses,
  the range's network address and last address are listed.
* DENIED lists only verdicts that hold under the peer's *default* policy.
  Public addresses that a test denies only through a custom block list
  (e.g. smokescreen's 1.1.1.1/8.8.8.8:321, safeurl's 34.210.62.0/25,
  Advocate's 132.0.5.1/152.254.90.1) are left out, and so are private
  addresses that a test allows only through a custom allow list.
* Entries are de-duplicated by address value (the first spelling is kept).

In ALLOWED_BY_PEERS, addresses in an IPv4-embedding IPv6 form (IPv4-mapped
::ffff:0:0/96, 6to4 2002::/16, Teredo 2001::/32, NAT64 64:ff9b::/96) would
carry a trailing comment, because pycurlcb's policy deliberately denies them
even when the embedded IPv4 address is public; none of the peers' allowed
vectors is such a form.
"""

from __future__ import annotations

#: peer name -> (source citation "owner/repo path@commit-or-'stored copy'", denied literals)
DENIED_BY_PEERS: dict[str, tuple[str, tuple[str, ...]]] = {
    # Individual ValidateIPTests/AddrInfoTests/wrapper vectors. Most run under
    # permissive_validator() (allow_ipv6/teredo/6to4/dns64=True); Advocate's real
    # default (allow_ipv6=False) is stricter and denies every IPv6 address.
    "advocate (tests)": (
        "JordanMilne/Advocate test/test_advocate.py@050b1ce00c6669e87369f20abcac290b3afa2286",
        (
            "127.0.0.1",
            "::1",
            "::ffff:192.168.2.1",
            "2001:0000:4136:e378:8000:63bf:3f57:fdf2",  # Teredo, client 192.168.2.1
            "2002:C0A8:FFFF::",  # 6to4 of 192.168.255.255
            "64:ff9b::192.168.2.1",  # NAT64/DNS64 well-known prefix
            "169.254.1.1",  # link-local
            "FEC0:CCCC::",  # deprecated site-local
            "227.1.1.1",  # multicast
            "192.168.2.1",
            "10.5.5.5",
            "0.0.0.0",
            "0.1.1.1",
            "100.64.0.0",  # CGNAT
            "255.255.255.255",
            "192.88.99.0",  # 6to4 relay anycast
            "192.168.0.1",  # AddrInfoTests.test_simple
            "127.0.1.1",  # wrapper tests: denied with only 127.0.0.1 whitelisted
        ),
    ),
    # test_safecurl_blacklist (@unittest.skip, 'takes half an hour'): AddrValidator()
    # must deny SafeCurl's 15 netblocks; network + last address of each.
    "advocate (tests: skipped SafeCurl netblock sweep)": (
        "JordanMilne/Advocate test/test_advocate.py@050b1ce00c6669e87369f20abcac290b3afa2286",
        (
            "0.0.0.0",
            "0.255.255.255",
            "10.0.0.0",
            "10.255.255.255",
            "100.64.0.0",
            "100.127.255.255",
            "127.0.0.0",
            "127.255.255.255",
            "169.254.0.0",
            "169.254.255.255",
            "172.16.0.0",
            "172.31.255.255",
            "192.0.0.0",
            "192.0.0.7",
            "192.0.2.0",
            "192.0.2.255",
            "192.88.99.0",
            "192.88.99.255",
            "192.168.0.0",
            "192.168.255.255",
            "198.18.0.0",
            "198.19.255.255",
            "198.51.100.0",
            "198.51.100.255",
            "203.0.113.0",
            "203.0.113.255",
            "224.0.0.0",
            "239.255.255.255",
            "240.0.0.0",
            "255.255.255.255",
        ),
    ),
    # The only explicit CIDRs in AddrValidator (_6TO4_RELAY_NET, _DNS64_WK_PREFIX);
    # everything else is Python ipaddress predicates (is_private, is_reserved, ...).
    "advocate (code defaults)": (
        "JordanMilne/Advocate advocate/addrvalidator.py@090964745b026469824825a5babe5b7a8bd62f49",
        (
            "192.88.99.0",
            "192.88.99.255",
            "64:ff9b::",
            "64:ff9b::ffff:ffff",
        ),
    ),
    # privateNetworkStrings (older releases; newer ones use net.IP.IsPrivate(), same
    # ranges). Loopback/link-local/multicast/broadcast/unspecified are denied via Go's
    # IsGlobalUnicast()/IsLoopback(), which have no CIDR table of their own.
    "smokescreen (config defaults)": (
        "stripe/smokescreen pkg/smokescreen/constants.go@10e00e70ca3db3e5989c2b8813be871e15de6a6c",
        (
            "10.0.0.0",
            "10.255.255.255",
            "172.16.0.0",
            "172.31.255.255",
            "192.168.0.0",
            "192.168.255.255",
            "fc00::",
            "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
        ),
    ),
    # defaultIPClassification(): addrHasIPv6Embedding -> deny, addrIsCGNAT -> deny.
    # The helpers' bodies were not in the stored copy; the prefixes are the ones named
    # in address_policy_test.go@5222007a comments (RFC 6598 CGNAT, 64:ff9b::/96,
    # 2002::/16, 2001::/32; its test boundaries 100.63.255.254/100.128.0.1 allowed).
    # The comment also says IPv4-mapped is blocked; no CIDR for that is given.
    "smokescreen (code defaults: CGNAT + IPv6 embeddings)": (
        "stripe/smokescreen pkg/smokescreen/ip_policy.go@17508c01599d25c8ccf64571c503ba1ee13b26d0",
        (
            "100.64.0.0",
            "100.127.255.255",
            "64:ff9b::",
            "64:ff9b::ffff:ffff",
            "2002::",
            "2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            "2001::",
            "2001:0:ffff:ffff:ffff:ffff:ffff:ffff",
        ),
    ),
    # TestClassifyAddr / TestUnsafeAllowPrivateRanges / TestSelectTargetAddr, only the
    # rows whose deny verdict comes from the default policy (not from the test's
    # deny list 1.1.1.1/32 and 8.8.8.8:321, which are public and omitted).
    "smokescreen (tests)": (
        "stripe/smokescreen pkg/smokescreen/address_policy_test.go@5222007a6278037b33e590a4d995902abf15184b",
        (
            "10.0.0.1",
            "172.16.0.1",
            "192.168.0.1",
            "192.168.1.1",  # TestSelectTargetAddr 'All IPs denied' (default config)
            "192.168.1.100",  # self-connection case; private anyway
            "100.64.0.1",
            "100.64.0.100",
            "100.127.255.254",
            "127.0.0.1",
            "127.255.255.255",
            "::1",
            "169.254.169.254",  # EC2 metadata
            "255.255.255.255",
            "ff02:0:0:0:0:0:0:2",
            "64:ff9b::ac1c:5",  # NAT64 of 172.28.0.5
            "64:ff9b::c000:201",  # NAT64 of 192.0.2.1
            "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
            "64:ff9b::808:808",  # NAT64 of PUBLIC 8.8.8.8
            "64:ff9b::ffff:ffff",  # NAT64 of 255.255.255.255
            "2002:c000:201::1",  # 6to4 of 192.0.2.1
            "2002:a00:1::1",  # 6to4 of 10.0.0.1
            "2002:808:808::1",  # 6to4 of PUBLIC 8.8.8.8
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
            "2001:0:1234:5678:9abc:def0:1234:5678",  # Teredo
        ),
    ),
    # TestMostSpecificIPPolicySafetyChecks + TestAllowFirstIPPolicy default-verdict rows
    # (8.8.8.8 is denied there only by SetDenyAddresses; omitted).
    "smokescreen (tests: ip_policy_test.go)": (
        "stripe/smokescreen pkg/smokescreen/ip_policy_test.go@067700483b17c2d791e5128bc733578243449116",
        (
            "10.0.0.1",
            "127.0.0.1",
            "100.64.0.1",
            "64:ff9b::1",  # NAT64 of 0.0.0.1
            "10.1.0.1",  # TestAllowFirstIPPolicy ipDenyPrivateRange
        ),
    ),
    # TestIPFilterBypassPolicy list minus 8.8.8.8 (that test denies 0.0.0.0/0 and ::/0
    # by config; every address kept here is also denied by smokescreen's defaults).
    "smokescreen (tests: ip_filter_bypass_test.go)": (
        "stripe/smokescreen pkg/smokescreen/ip_filter_bypass_test.go@"
        "a2be1c995049f91046cd5a98e044182c90e28e5c",
        (
            "10.0.0.1",
            "127.0.0.1",
            "169.254.169.254",
            "100.64.0.1",
            "fc00::1",
            "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
        ),
    ),
    # IPV4_BLACKLIST + literal part of IPV6_BLACKLIST: network + last address.
    "ssrf_filter (config defaults)": (
        "arkadiyt/ssrf_filter lib/ssrf_filter/ssrf_filter.rb@4e02435c2701eb72cf2e6107a26315bd1a6181e1",
        (
            "0.0.0.0",
            "0.255.255.255",
            "10.0.0.0",
            "10.255.255.255",
            "100.64.0.0",
            "100.127.255.255",
            "127.0.0.0",
            "127.255.255.255",
            "169.254.0.0",
            "169.254.255.255",
            "172.16.0.0",
            "172.31.255.255",
            "192.0.0.0",
            "192.0.0.255",
            "192.0.2.0",
            "192.0.2.255",
            "192.88.99.0",
            "192.88.99.255",
            "192.168.0.0",
            "192.168.255.255",
            "198.18.0.0",
            "198.19.255.255",
            "198.51.100.0",
            "198.51.100.255",
            "203.0.113.0",
            "203.0.113.255",
            "224.0.0.0",
            "239.255.255.255",
            "240.0.0.0",
            "255.255.255.255",
            "::1",
            "64:ff9b::",
            "64:ff9b::ffff:ffff",
            "100::",
            "100::ffff:ffff:ffff:ffff",
            "2001::",
            "2001:0:ffff:ffff:ffff:ffff:ffff:ffff",
            "2001:10::",
            "2001:1f:ffff:ffff:ffff:ffff:ffff:ffff",
            "2001:20::",
            "2001:2f:ffff:ffff:ffff:ffff:ffff:ffff",
            "2001:db8::",
            "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff",
            "2002::",
            "2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            "fc00::",
            "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            "fe80::",
            "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            "ff00::",
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
        ),
    ),
    # IPV6_BLACKLIST also adds, per IPv4 range /p, ::a.b.c.d/(96+p) and
    # ::ffff:a.b.c.d masked to /(80+p) (sic: 80, not 96). The /(80+p) mask makes the
    # mapped entries 16 bits too wide: every ::ffff:0:0/96 address is denied (the /16
    # and shorter ranges cover it all) and so are spans such as ::ff00:0:0/88,
    # ::ffc0:0:0/90, ::fff0:0:0/92, ::fffe:0:0/95, ::f000:0:0/84 outside the mapped
    # block. Network + last address of each derived range, as the gem computes it.
    "ssrf_filter (config defaults: derived IPv4-compatible/mapped ranges)": (
        "arkadiyt/ssrf_filter lib/ssrf_filter/ssrf_filter.rb@4e02435c2701eb72cf2e6107a26315bd1a6181e1",
        (
            "::",
            "::0.255.255.255",
            "::ff00:0:0",
            "::ffff:255.255.255.255",
            "::10.0.0.0",
            "::10.255.255.255",
            "::100.64.0.0",
            "::100.127.255.255",
            "::ffc0:0:0",
            "::127.0.0.0",
            "::127.255.255.255",
            "::169.254.0.0",
            "::169.254.255.255",
            "::ffff:0.0.0.0",
            "::172.16.0.0",
            "::172.31.255.255",
            "::fff0:0:0",
            "::192.0.0.0",
            "::192.0.0.255",
            "::ffff:192.0.0.0",
            "::ffff:192.255.255.255",
            "::192.0.2.0",
            "::192.0.2.255",
            "::192.88.99.0",
            "::192.88.99.255",
            "::192.168.0.0",
            "::192.168.255.255",
            "::198.18.0.0",
            "::198.19.255.255",
            "::fffe:0:0",
            "::198.51.100.0",
            "::198.51.100.255",
            "::ffff:198.0.0.0",
            "::ffff:198.255.255.255",
            "::203.0.113.0",
            "::203.0.113.255",
            "::ffff:203.0.0.0",
            "::ffff:203.255.255.255",
            "::224.0.0.0",
            "::239.255.255.255",
            "::f000:0:0",
            "::240.0.0.0",
            "::255.255.255.255",
            "::ffff:255.255.0.0",
        ),
    ),
    # private_ipv4/private_ipv6, plus 'returns true for mapped/compat ipv4 addresses':
    # first and last address of every IPV4_BLACKLIST range as ipv4_compat (::a.b.c.d)
    # and ipv4_mapped (::ffff:a.b.c.d).
    "ssrf_filter (tests)": (
        "arkadiyt/ssrf_filter spec/lib/ssrf_filter_spec.rb@a1ca38774bbceca5c45b5dfe53d2ed08bb8f2a94",
        (
            "127.0.0.1",
            "::1",
            "::",
            "::ffff:0.0.0.0",
            "::0.255.255.255",
            "::ffff:0.255.255.255",
            "::10.0.0.0",
            "::ffff:10.0.0.0",
            "::10.255.255.255",
            "::ffff:10.255.255.255",
            "::100.64.0.0",
            "::ffff:100.64.0.0",
            "::100.127.255.255",
            "::ffff:100.127.255.255",
            "::127.0.0.0",
            "::ffff:127.0.0.0",
            "::127.255.255.255",
            "::ffff:127.255.255.255",
            "::169.254.0.0",
            "::ffff:169.254.0.0",
            "::169.254.255.255",
            "::ffff:169.254.255.255",
            "::172.16.0.0",
            "::ffff:172.16.0.0",
            "::172.31.255.255",
            "::ffff:172.31.255.255",
            "::192.0.0.0",
            "::ffff:192.0.0.0",
            "::192.0.0.255",
            "::ffff:192.0.0.255",
            "::192.0.2.0",
            "::ffff:192.0.2.0",
            "::192.0.2.255",
            "::ffff:192.0.2.255",
            "::192.88.99.0",
            "::ffff:192.88.99.0",
            "::192.88.99.255",
            "::ffff:192.88.99.255",
            "::192.168.0.0",
            "::ffff:192.168.0.0",
            "::192.168.255.255",
            "::ffff:192.168.255.255",
            "::198.18.0.0",
            "::ffff:198.18.0.0",
            "::198.19.255.255",
            "::ffff:198.19.255.255",
            "::198.51.100.0",
            "::ffff:198.51.100.0",
            "::198.51.100.255",
            "::ffff:198.51.100.255",
            "::203.0.113.0",
            "::ffff:203.0.113.0",
            "::203.0.113.255",
            "::ffff:203.0.113.255",
            "::224.0.0.0",
            "::ffff:224.0.0.0",
            "::239.255.255.255",
            "::ffff:239.255.255.255",
            "::240.0.0.0",
            "::ffff:240.0.0.0",
            "::255.255.255.255",
            "::ffff:255.255.255.255",
        ),
    ),
    # privateNetworks: network + last address of each CIDR.
    "safeurl (Go, doyensec; config defaults)": (
        "doyensec/safeurl ip.go@4b6083ba90fb5c698ddc68c5d3489a87e69f5c47",
        (
            "10.0.0.0",
            "10.255.255.255",
            "172.16.0.0",
            "172.31.255.255",
            "192.168.0.0",
            "192.168.255.255",
            "127.0.0.0",
            "127.255.255.255",
            "0.0.0.0",
            "0.255.255.255",
            "169.254.0.0",
            "169.254.255.255",
            "192.0.0.0",
            "192.0.0.255",
            "192.0.2.0",
            "192.0.2.255",
            "198.51.100.0",
            "198.51.100.255",
            "203.0.113.0",
            "203.0.113.255",
            "192.88.99.0",
            "192.88.99.255",
            "198.18.0.0",
            "198.19.255.255",
            "224.0.0.0",
            "239.255.255.255",
            "240.0.0.0",
            "255.255.255.255",
            "100.64.0.0",
            "100.127.255.255",
            "::",
            "::1",
            "100::",
            "100::ffff:ffff:ffff:ffff",
            "2001::",
            "2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff",
            "2001:2::",
            "2001:2:0:ffff:ffff:ffff:ffff:ffff",
            "2001:db8::",
            "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff",
            "2001:0:ffff:ffff:ffff:ffff:ffff:ffff",
            "fc00::",
            "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            "fe80::",
            "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            "ff00::",
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            "2002::",
            "2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            "64:ff9b::",
            "64:ff9b::ffff:ffff",
            "2001:10::",
            "2001:1f:ffff:ffff:ffff:ffff:ffff:ffff",
            "2001:20::",
            "2001:2f:ffff:ffff:ffff:ffff:ffff:ffff",
        ),
    ),
    # TestBlockedIP (normal literals only; '0000::1' is ::1 again; decimal/octal/hex,
    # '127.1' and '0/' spellings skipped), TestBlockCIDRRange (all 16 of
    # 192.168.0.0/28), TestInternalIPAreAlwaysBlocked. The public 34.210.62.0/25 and
    # 216.239.34.21 vectors are denied only by SetBlockedIPsCIDR config; omitted.
    "safeurl (Go, doyensec; tests)": (
        "doyensec/safeurl client_test.go@d7707513c465c76e300e763f118fc0fadcf423f8",
        (
            "127.0.0.1",
            "::1",
            "0.0.0.0",
            "127.127.127.127",
            "::ffff:192.0.2.1",  # IPv4-mapped TEST-NET-1
            "::",  # from [::]:80
            "192.168.0.0",
            "192.168.0.1",
            "192.168.0.2",
            "192.168.0.3",
            "192.168.0.4",
            "192.168.0.5",
            "192.168.0.6",
            "192.168.0.7",
            "192.168.0.8",
            "192.168.0.9",
            "192.168.0.10",
            "192.168.0.11",
            "192.168.0.12",
            "192.168.0.13",
            "192.168.0.14",
            "192.168.0.15",
        ),
    ),
    # Default 'blacklist' => 'ip' (SafeCurl's list); identical list in
    # IncludeSecurity/safeurl-python safeurl/safeurl.py@3150f48a8c710e872dbcddd7c3c75c6462eda977.
    # Neither port has IP-literal tests (safeurl_tests.py only uses host names).
    "safeurl (PHP/Python, IncludeSecurity; config defaults)": (
        "IncludeSecurity/safeurl-php src/Options.php@2a72af3d282282e0a0b2d9bf3b23474c944e63b4",
        (
            "0.0.0.0",
            "0.255.255.255",
            "10.0.0.0",
            "10.255.255.255",
            "100.64.0.0",
            "100.127.255.255",
            "127.0.0.0",
            "127.255.255.255",
            "169.254.0.0",
            "169.254.255.255",
            "172.16.0.0",
            "172.31.255.255",
            "192.0.0.0",
            "192.0.0.7",
            "192.0.2.0",
            "192.0.2.255",
            "192.88.99.0",
            "192.88.99.255",
            "192.168.0.0",
            "192.168.255.255",
            "198.18.0.0",
            "198.19.255.255",
            "198.51.100.0",
            "198.51.100.255",
            "203.0.113.0",
            "203.0.113.255",
            "224.0.0.0",
            "239.255.255.255",
            "240.0.0.0",
            "255.255.255.255",
        ),
    ),
}

#: peer name -> (citation, allowed literals their tests expect to pass)
ALLOWED_BY_PEERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "advocate (tests)": (
        "JordanMilne/Advocate test/test_advocate.py@050b1ce00c6669e87369f20abcac290b3afa2286",
        (
            "178.254.90.1",  # test_manual_ip_blacklist
            "2607:f8b0:400a:807::200e",  # Google; needs allow_ipv6=True (Advocate default denies all IPv6)
            "144.1.1.1",  # test_parsed
            "200.1.1.1",  # port white/blacklist tests
            "1.2.3.4",  # HostnameTests fake_lookup result
        ),
    ),
    "smokescreen (tests)": (
        "stripe/smokescreen pkg/smokescreen/address_policy_test.go@5222007a6278037b33e590a4d995902abf15184b",
        (
            "8.8.8.8",
            "8.8.4.4",  # TestSelectTargetAddr
            "100.63.255.254",  # just below CGNAT
            "100.128.0.1",  # just above CGNAT
            "2001:4860:4860::8888",  # Google DNS, not Teredo
            "2606:4700:4700::1111",  # Cloudflare DNS
            "64:ff9c::1",  # NOT NAT64 (outside 64:ff9b::/96) but inside IETF-reserved ::/8
        ),
    ),
    "smokescreen (tests: ip_policy_test.go)": (
        "stripe/smokescreen pkg/smokescreen/ip_policy_test.go@067700483b17c2d791e5128bc733578243449116",
        (
            "8.8.8.8",
            "1.1.1.1",  # TestAllowFirstIPPolicy ipAllowDefault
        ),
    ),
    "ssrf_filter (tests)": (
        "arkadiyt/ssrf_filter spec/lib/ssrf_filter_spec.rb@a1ca38774bbceca5c45b5dfe53d2ed08bb8f2a94",
        (
            "172.217.6.78",
            "2606:2800:220:1:248:1893:25c8:1946",
        ),
    ),
    "safeurl (Go, doyensec; tests)": (
        "doyensec/safeurl client_test.go@d7707513c465c76e300e763f118fc0fadcf423f8",
        (
            "172.217.14.195",  # TestIPsOutsideBlockedCIDRAreNotBlocked
            "34.210.62.107",  # allowed via SetAllowedIPsCIDR; denied elsewhere only by a custom block CIDR
        ),
    ),
}
