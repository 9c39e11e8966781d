# Helpers for booting pmd as the init of a small VM (test-vm-boot.sh, bench/bench-pid1.sh). Nothing
# is installed here: qemu-system-x86, busybox-static and cpio come from tools/install-deps.sh.
#
# vm_fetch_kernel DIR: download Debian's kernel package (the versioned linux-image-*-amd64 that the
# linux-image-amd64 meta package depends on) with `apt-get download` into DIR and unpack only its
# vmlinuz, to DIR/vmlinuz. Never installs a kernel package. The vmlinuz is kept in
# $PMD_TEST_CACHE (default /var/tmp/pmd-test-cache), named after the package's version, so that
# later runs on the same machine do not download it again while the archive offers that version.
# Returns 2 when the archive cannot be reached (the caller skips), 1 on other errors.
vm_fetch_kernel() {
        local dir=$1 cache=${PMD_TEST_CACHE:-/var/tmp/pmd-test-cache} meta dep ver deb
        mkdir -p "$dir"
        [[ -s "$dir/vmlinuz" ]] && return 0
        # The package and version the archive offers now, from apt's lists (no download).
        dep=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' |
                head -n1)
        ver=$([[ -n "$dep" ]] && apt-cache policy "$dep" 2>/dev/null | sed -n 's/^ *Candidate: //p')
        if [[ -n "$dep" && -n "$ver" && "$ver" != "(none)" && -s "$cache/$dep-$ver.vmlinuz" ]]; then
                cp "$cache/$dep-$ver.vmlinuz" "$dir/vmlinuz"
                return 0
        fi
        (cd "$dir" && apt-get download linux-image-amd64 >"$dir/apt.log" 2>&1) || return 2
        meta=$(ls "$dir"/linux-image-amd64_*.deb 2>/dev/null | head -n1)
        [[ -n "$meta" ]] || return 2
        dep=$(dpkg-deb -f "$meta" Depends | tr ',|' '\n\n' | sed 's/[( ].*//' | grep -m1 '^linux-image-[0-9].*-amd64$') ||
                return 1
        (cd "$dir" && apt-get download "$dep" >>"$dir/apt.log" 2>&1) || return 2
        deb=$(ls "$dir/$dep"_*.deb 2>/dev/null | head -n1)
        [[ -n "$deb" ]] || return 2
        ver=$(dpkg-deb -f "$deb" Version)
        mkdir -p "$dir/pkg"
        dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$dir/pkg" --wildcards './boot/vmlinuz-*' || return 1
        cp "$dir"/pkg/boot/vmlinuz-* "$dir/vmlinuz"
        rm -rf "$dir/pkg" "$dir"/*.deb
        if [[ -n "$ver" ]] && mkdir -p "$cache" 2>/dev/null; then
                cp "$dir/vmlinuz" "$cache/$dep-$ver.vmlinuz.tmp" && mv "$cache/$dep-$ver.vmlinuz.tmp" "$cache/$dep-$ver.vmlinuz"
        fi
        return 0
}

# vm_root_base ROOT: busybox (sh, sleep, kill, echo, cat, mount, poweroff …) and the directories.
vm_root_base() {
        local root=$1 bb a
        bb=$(command -v busybox)
        mkdir -p "$root"/{bin,sbin,etc,dev,proc,sys,run,tmp,var,root}
        cp "$bb" "$root/bin/busybox"
        for a in sh sleep kill echo cat ls mount umount poweroff reboot halt sync; do
                ln -sf busybox "$root/bin/$a"
        done
        echo pmd-vm >"$root/etc/hostname"
}

# vm_root_add_binary ROOT PATH DEST: copy an ELF binary and every shared library it links (ldd),
# the dynamic loader included, to the same paths under ROOT.
vm_root_add_binary() {
        local root=$1 bin=$2 dest=$3 lib
        mkdir -p "$root/$(dirname "$dest")"
        cp "$bin" "$root/$dest"
        for lib in $(ldd "$bin" | grep -o '/[^ ]*'); do
                mkdir -p "$root/$(dirname "$lib")"
                cp -L "$lib" "$root/$lib"
        done
}

# vm_cpio ROOT OUT: the initramfs (cpio newc, uncompressed: the kernel unpacks it fastest).
vm_cpio() {
        (cd "$1" && find . | cpio -o -H newc --quiet) >"$2"
}

# vm_boot KERNEL INITRD CONSOLE-LOG TIMEOUT: boot under software emulation (-accel tcg: /dev/kvm
# may exist and not work); returns qemu's status (124 on timeout).
vm_boot() {
        timeout "$4" qemu-system-x86_64 -accel tcg -m 512 -nographic -no-reboot \
                -kernel "$1" -initrd "$2" -append 'console=ttyS0 init=/init panic=-1 quiet' \
                </dev/null >"$3" 2>&1
}
