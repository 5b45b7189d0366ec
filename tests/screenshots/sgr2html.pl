#!/usr/bin/perl
# sgr2html.pl THEME.c - `tmux capture-pane -e` text (SGR colours) on stdin
# to an HTML <pre> on stdout, painted with the palette the console's
# contrast is checked against (tests/unit/test-theme.c): the sixteen base
# colours read from tui/theme.c (between "palette16 begin" and "end"), the
# xterm 256-colour cube and grey ramp by their formula, and the default
# colours of the default theme (white-ish 7 on black 0). So the README's
# screenshots show the contrast the test measured, not a converter's own
# idea of "black" (aha drew it dim grey: grey on teal).
use strict;
use warnings;

my ($theme_c) = @ARGV;
open(my $fh, '<', $theme_c) or die "sgr2html: $theme_c: $!\n";
my $src = do { local $/; <$fh> };
$src =~ /palette16 begin(.*?)palette16 end/s or die "sgr2html: no palette16 in $theme_c\n";
my @base = ($1 =~ /0x([0-9a-fA-F]{6})/g);
@base == 16 or die "sgr2html: palette16 has " . scalar(@base) . " colours\n";

sub rgb {
    my ($n) = @_;
    return $base[$n] if $n < 16;
    if ($n < 232) {
        my @lv = (0, 95, 135, 175, 215, 255);
        my $c = $n - 16;
        return sprintf('%02x%02x%02x', $lv[int($c / 36)], $lv[int($c / 6) % 6], $lv[$c % 6]);
    }
    my $g = 8 + 10 * ($n - 232);
    return sprintf('%02x%02x%02x', $g, $g, $g);
}

my ($dfg, $dbg) = (rgb(7), rgb(0));
binmode(STDIN, ':utf8');
binmode(STDOUT, ':utf8');
print "<pre style=\"margin:0;padding:12px;background:#$dbg;color:#$dfg\">";
my %st;
sub reset_state { %st = (fg => undef, bg => undef, bold => 0, dim => 0, ul => 0, rev => 0); }
reset_state();
my $open = 0;
sub esc {
    my ($t) = @_;
    $t =~ s/&/&amp;/g;
    $t =~ s/</&lt;/g;
    $t =~ s/>/&gt;/g;
    return $t;
}
sub span {
    print '</span>' if $open;
    my $fg = defined $st{fg} ? $st{fg} : $dfg;
    my $bg = defined $st{bg} ? $st{bg} : undef;
    if ($st{rev}) {
        my $f = $fg;
        $fg = defined $bg ? $bg : $dbg;
        $bg = $f;
    }
    my $css = "color:#$fg";
    $css .= ";background:#$bg" if defined $bg;
    $css .= ';font-weight:bold' if $st{bold};
    $css .= ';opacity:0.7' if $st{dim};
    $css .= ';text-decoration:underline' if $st{ul};
    print "<span style=\"$css\">";
    $open = 1;
}
while (my $line = <STDIN>) {
    chomp $line;
    for my $part (split /(\e\[[0-9;]*m)/, $line) {
        if ($part =~ /^\e\[([0-9;]*)m$/) {
            my @p = split /;/, ($1 eq '' ? '0' : $1);
            while (@p) {
                my $c = shift @p;
                $c = 0 if $c eq '';
                if ($c == 0) { reset_state(); }
                elsif ($c == 1) { $st{bold} = 1; }
                elsif ($c == 2) { $st{dim} = 1; }
                elsif ($c == 4) { $st{ul} = 1; }
                elsif ($c == 7) { $st{rev} = 1; }
                elsif ($c == 22) { $st{bold} = $st{dim} = 0; }
                elsif ($c == 24) { $st{ul} = 0; }
                elsif ($c == 27) { $st{rev} = 0; }
                elsif ($c >= 30 && $c <= 37) { $st{fg} = rgb($c - 30); }
                elsif ($c >= 90 && $c <= 97) { $st{fg} = rgb($c - 90 + 8); }
                elsif ($c >= 40 && $c <= 47) { $st{bg} = rgb($c - 40); }
                elsif ($c >= 100 && $c <= 107) { $st{bg} = rgb($c - 100 + 8); }
                elsif ($c == 39) { $st{fg} = undef; }
                elsif ($c == 49) { $st{bg} = undef; }
                elsif (($c == 38 || $c == 48) && @p >= 2 && $p[0] == 5) {
                    shift @p;
                    my $n = shift @p;
                    $st{$c == 38 ? 'fg' : 'bg'} = rgb($n);
                }
            }
            span();
        } elsif (length $part) {
            span() unless $open;
            print esc($part);
        }
    }
    print "\n";
}
print '</span>' if $open;
print "</pre>\n";
