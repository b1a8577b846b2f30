#!/usr/bin/env bash
# Installs the Debian packages the real-world data sets are made from (digitlab.data.realworld; data/README.md lists
# them with versions, sizes and licences): fonts and photo packages with apt-get, and tuxpaint-data -- whose
# dependencies would add 160 MB of clip art -- unpacked with dpkg-deb into /usr/local/share/digitlab/debs/tuxpaint-data.
# Idempotent and quiet: does nothing when everything is there. Needs root (run with sudo).
set -euo pipefail
APT=(
  fonts-urw-base35 fonts-freefont-ttf fonts-linuxlibertine fonts-go fonts-crosextra-caladea fonts-crosextra-carlito
  fonts-lato fonts-ebgaramond fonts-comic-neue fonts-bwht fonts-humor-sans fonts-kristi fonts-femkeklaver fonts-dancingscript
  fonts-cantarell fonts-quicksand fonts-lmodern fonts-breip fonts-tomsontalks
  fonts-dejavu-core fonts-liberation fonts-open-sans fonts-hack fonts-inconsolata fonts-jetbrains-mono fonts-league-spartan
  fonts-adf-accanthis fonts-noto-mono fonts-firacode fonts-dkg-handwriting fonts-rufscript fonts-kaushanscript
  lomiri-wallpapers-16.04 xplanet-images lomiri-wallpapers-20.04 xfdesktop4-data mate-backgrounds gimp-data mypaint-data-extras
)
UNPACK=(tuxpaint-data)
DEBS=/usr/local/share/digitlab/debs

missing=()
for p in "${APT[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
unpack=()
for p in "${UNPACK[@]}"; do [ -f "$DEBS/$p/.unpacked" ] || unpack+=("$p"); done
[ ${#missing[@]} -eq 0 ] && [ ${#unpack[@]} -eq 0 ] && exit 0

log=$(mktemp)
trap 'rm -f "$log"' EXIT
quiet() { "$@" >>"$log" 2>&1 || { cat "$log" >&2; exit 1; }; }  # silent unless it fails
quiet apt-get update -qq
if [ ${#missing[@]} -gt 0 ]; then
  quiet env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
for p in "${unpack[@]}"; do
  tmp=$(mktemp -d)
  (cd "$tmp" && quiet apt-get download -qq "$p")
  rm -rf "${DEBS:?}/$p" && mkdir -p "$DEBS/$p"
  dpkg-deb -x "$tmp"/"$p"_*.deb "$DEBS/$p"
  dpkg-deb -f "$tmp"/"$p"_*.deb Version > "$DEBS/$p/.unpacked"
  rm -rf "$tmp"
done
