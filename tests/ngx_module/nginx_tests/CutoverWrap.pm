# Puts every upstream of an nginx-tests configuration behind a cutover, so
# nginx's own test suite checks that a cutover at weight 0 or 100 balances,
# retries and fails like the plain upstream it wraps.
#
#   perl -I NGINX_TESTS/lib -I THIS_DIR -MCutoverWrap NGINX_TESTS/proxy_next_upstream.t
#
# Each `upstream NAME { ... }` of the http block becomes the live slot,
# NAME_cutover_live; NAME itself becomes `cutover` between it and a slot
# whose only server is down (so the other slot adds no attempt, as with a
# plain upstream). Environment: CUTOVER_WEIGHT (0: the live slot is blue,
# 100: green), CUTOVER_FAILOVER (on|off), CUTOVER_MODULE (the .so).
package CutoverWrap;

use strict;
use warnings;

use Test::Nginx;

my $weight = $ENV{CUTOVER_WEIGHT} // 0;
my $failover = $ENV{CUTOVER_FAILOVER} // 'on';
my $module = $ENV{CUTOVER_MODULE} or die "CUTOVER_MODULE is not set\n";

$ENV{TEST_NGINX_GLOBALS} = ($ENV{TEST_NGINX_GLOBALS} // '') . " load_module $module;";

my $original = \&Test::Nginx::write_file_expand;

sub wrap {
	my ($conf, $dir) = @_;
	my $http = index($conf, "\nhttp {");
	return $conf if $http < 0;
	my $stream = index($conf, "\nstream {");
	my @names;
	my $head = substr($conf, 0, $http);
	my $body = substr($conf, $http);
	if ($stream < 0 || $stream > $http) {
		$body =~ s#^(\s*)upstream\s+(\S+)\s*\{#push @names, $2; "$1upstream $2_cutover_live \{"#gme;
	}
	my $added = "\n    cutover_state_file $dir/cutover.state;\n    cutover_header off;\n";
	for my $name (@names) {
		my ($blue, $green) = $weight >= 100
			? ("${name}_cutover_none", "${name}_cutover_live")
			: ("${name}_cutover_live", "${name}_cutover_none");
		$added .= "    upstream $name { cutover blue=$blue green=$green"
			. " weight=$weight failover=$failover; }\n"
			. "    upstream ${name}_cutover_none { server 127.0.0.1:1 down; }\n";
	}
	$body =~ s/^(http \{)/$1$added/m;
	return $head . $body;
}

{
	no warnings 'redefine';
	*Test::Nginx::write_file_expand = sub ($$) {
		my ($self, $name, $content) = @_;
		$content = wrap($content, $self->{_testdir}) if $name eq 'nginx.conf';
		return $original->($self, $name, $content);
	};
}

1;
