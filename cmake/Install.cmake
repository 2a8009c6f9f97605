# Installation layout and the Debian package.
#
#   cmake --install build                      # into CMAKE_INSTALL_PREFIX
#   cd build && cpack -G DEB                   # pourd_<version>_<arch>.deb
#
# Binaries go to bin, units to lib/systemd/system, sysusers.d and
# tmpfiles.d snippets to lib/, all under the prefix (systemd searches both
# /usr/lib and /usr/local/lib). The configuration goes to /etc/pourd
# whatever the prefix, because pourd reads /etc/pourd/pourd.conf by default;
# an existing file there is never overwritten.

include(GNUInstallDirs)

set(POURD_UNITDIR "lib/systemd/system" CACHE STRING
  "systemd unit directory, relative to the install prefix")
set(POURD_SYSUSERSDIR "lib/sysusers.d" CACHE STRING
  "sysusers.d directory, relative to the install prefix")
set(POURD_TMPFILESDIR "lib/tmpfiles.d" CACHE STRING
  "tmpfiles.d directory, relative to the install prefix")
set(POURD_CONFDIR "/etc/pourd" CACHE PATH
  "Directory of pourd.conf (absolute; DESTDIR applies)")

set(_pourd_sd ${PROJECT_SOURCE_DIR}/systemd)

# ----------------------------------------------------------------------
# Binaries. Either may be missing from a partial checkout.

if(TARGET pourd)
  install(TARGETS pourd RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()
if(TARGET pourctl)
  install(TARGETS pourctl RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()
install(PROGRAMS ${_pourd_sd}/pourd-cron-check
  DESTINATION ${CMAKE_INSTALL_LIBEXECDIR}/pourd)

# ----------------------------------------------------------------------
# Units. They name /usr/bin and /usr/libexec; a prefix other than /usr
# gets them rewritten at install time (the prefix is only known then:
# cpack installs with /usr whatever the build was configured with).

set(_pourd_unit_script ${PROJECT_BINARY_DIR}/pourd_install_units.cmake)
file(WRITE ${_pourd_unit_script} "
set(_bindir \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}\")
set(_libexecdir \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBEXECDIR}\")
set(_stage \"${PROJECT_BINARY_DIR}/pourd-units\")
file(MAKE_DIRECTORY \"\${_stage}\")
foreach(_unit pourd.service pourd-check.service pourd-check.timer)
  file(READ \"${_pourd_sd}/\${_unit}\" _text)
  string(REPLACE \"/usr/bin/pourd\" \"\${_bindir}/pourd\" _text \"\${_text}\")
  string(REPLACE \"/usr/libexec/pourd/\" \"\${_libexecdir}/pourd/\"
    _text \"\${_text}\")
  file(WRITE \"\${_stage}/\${_unit}\" \"\${_text}\")
  file(INSTALL \"\${_stage}/\${_unit}\"
    DESTINATION \"\${CMAKE_INSTALL_PREFIX}/${POURD_UNITDIR}\"
    FILE_PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
endforeach()
")
install(SCRIPT ${_pourd_unit_script})

install(FILES ${_pourd_sd}/pourd.sysusers
  DESTINATION ${POURD_SYSUSERSDIR} RENAME pourd.conf)
install(FILES ${_pourd_sd}/pourd.tmpfiles
  DESTINATION ${POURD_TMPFILESDIR} RENAME pourd.conf)

# ----------------------------------------------------------------------
# Configuration: the commented sample as /etc/pourd/pourd.conf unless one
# exists (a source reinstall keeps the operator's file), and always as a
# reference copy under the documentation directory.

install(CODE "
  set(_conf \"\$ENV{DESTDIR}${POURD_CONFDIR}/pourd.conf\")
  if(EXISTS \"\${_conf}\")
    message(STATUS \"Keeping: \${_conf}\")
  else()
    file(INSTALL \"${_pourd_sd}/pourd.conf.sample\"
      DESTINATION \"${POURD_CONFDIR}\" RENAME pourd.conf
      FILE_PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
  endif()
")
install(FILES ${_pourd_sd}/pourd.conf.sample
  DESTINATION ${CMAKE_INSTALL_DOCDIR})

# Monitoring examples: the mtail program and Prometheus alert rules.
install(FILES ${PROJECT_SOURCE_DIR}/monitoring/pourd.mtail
  ${PROJECT_SOURCE_DIR}/monitoring/alerts.yml
  DESTINATION ${CMAKE_INSTALL_DATADIR}/pourd/monitoring)

# ----------------------------------------------------------------------
# Manual pages, compressed as Debian ships them.

find_program(POURD_GZIP gzip)
set(_pourd_man_out ${PROJECT_BINARY_DIR}/man/man8)
set(_pourd_man_pages)
foreach(page pourd.8 pourctl.8)
  set(src ${PROJECT_SOURCE_DIR}/docs/man/${page})
  if(POURD_GZIP)
    add_custom_command(OUTPUT ${_pourd_man_out}/${page}.gz
      COMMAND ${CMAKE_COMMAND} -E make_directory ${_pourd_man_out}
      COMMAND ${POURD_GZIP} -9nc ${src} > ${_pourd_man_out}/${page}.gz
      DEPENDS ${src}
      COMMENT "Compressing ${page}")
    list(APPEND _pourd_man_pages ${_pourd_man_out}/${page}.gz)
  else()
    list(APPEND _pourd_man_pages ${src})
  endif()
endforeach()
add_custom_target(pourd_man ALL DEPENDS ${_pourd_man_pages})
install(FILES ${_pourd_man_pages} DESTINATION ${CMAKE_INSTALL_MANDIR}/man8)

# ----------------------------------------------------------------------
# The Debian package.

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME pourd)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "pourd maintainers")
set(CPACK_PACKAGE_CONTACT "pourd maintainers <maintainers@pourd.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
  "daemon that keeps every logged drink in a drinking session")
set(CPACK_PACKAGE_DESCRIPTION
  "pourd owns a store of logged drinks (SQLite or MariaDB), groups each
pour into a drinking session, sweeps orphaned pours into sessions on a
timer and serves an admin HTTP API with health and Prometheus metrics.
pourctl is its admin CLI. The service runs under systemd as user pourd.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)

set(CPACK_STRIP_FILES ON)

set(CPACK_DEBIAN_PACKAGE_NAME pourd)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER ${CPACK_PACKAGE_CONTACT})
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
  "${CPACK_PACKAGE_DESCRIPTION_SUMMARY}\n${CPACK_PACKAGE_DESCRIPTION}")
# dpkg-shlibdeps finds the libraries' packages, including the ODB runtime
# from Debian 11 (libodb-2.4, libodb-sqlite-2.4, libodb-mysql-2.4).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# Tools the package's scripts call: adduser when systemd-sysusers is
# absent; curl for the optional pourd-check.service.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser | systemd (>= 247)")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "systemd, curl")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "mariadb-server, sqlite3, mtail")

set(_pourd_conffiles ${PROJECT_BINARY_DIR}/deb/conffiles)
file(WRITE ${_pourd_conffiles} "${POURD_CONFDIR}/pourd.conf\n")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${_pourd_sd}/deb/postinst ${_pourd_sd}/deb/prerm ${_pourd_sd}/deb/postrm
  ${_pourd_conffiles})
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)

include(CPack)
