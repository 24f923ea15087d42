*** Settings ***
Documentation       An edgeneuro stream build on a Renode board: the board boots, answers over the
...                 framed UART protocol, and every output equals edgeneuro's numpy reference (the
...                 same harness, protocol and host code as the QEMU path; see renode/README.md).
...
...                 renode-test renode/edgeneuro.robot --variable BOARD:stm32f4-discovery
...                 --variable BUILD:/abs/path/build --variable WINDOWS:/abs/path/windows.npy
Resource            ${RENODEKEYWORDS}
Library             Process
Suite Setup         Setup
Suite Teardown      Teardown
Test Teardown       Test Teardown

*** Variables ***
${BOARD}            stm32f4-discovery
${BUILD}            ${CURDIR}/../out/renode/build
${WINDOWS}          ${CURDIR}/../out/renode/windows.npy
${EDGENEURO}        ${CURDIR}/../.venv/bin/edgeneuro
${PTY}              /tmp/edgeneuro-renode-robot-uart

*** Test Cases ***
Board Answers Over The Protocol With The Reference Outputs
    Execute Command         $elf=@${BUILD}/firmware.elf
    Execute Command         $pty="${PTY}"
    Execute Script          ${CURDIR}/${BOARD}.resc
    Execute Command         runMacro $load
    Execute Command         runMacro $console
    # Hold the pty open until Renode is gone: when the last process with the pty open closes it,
    # Renode 1.15.3's reader of the pty gets EIO and Renode dies (seen in about one run in five).
    ${pty_holder}=          Evaluate    os.open(r"${PTY}", os.O_RDWR | os.O_NOCTTY)    modules=os
    Start Emulation
    ${result}=              Run Process    ${EDGENEURO}    stream    ${BUILD}    --board    ${BOARD}
    ...                     --port    ${PTY}    --input    ${WINDOWS}    --timeout    20    --json
    ...                     timeout=600s
    Log                     ${result.stdout}
    Should Be Equal As Integers    ${result.rc}    0    ${result.stderr}
    Should Contain          ${result.stdout}    "ok": true
