*** Settings ***
Documentation       edgeneuro's firmware on a Renode board. Tag stream: a stream build boots, answers
...                 over the framed UART protocol, and every output equals edgeneuro's numpy reference
...                 (the same harness, protocol and host code as the QEMU path; see renode/README.md).
...                 Tag detector: the whole detector, fed a recording's samples, drives the board's
...                 alarm LED on and off as often as the alarms it reports over the UART.
...
...                 renode-test renode/edgeneuro.robot --include stream --variable BOARD:stm32f4-discovery
...                 --variable BUILD:/abs/path/build --variable WINDOWS:/abs/path/windows.npy
...
...                 renode-test renode/edgeneuro.robot --include detector --variable BOARD:nrf52840-dk
...                 --variable ALARM_LED:gpio0.alarm_led --variable DETECTOR:/abs/path/detector-build
...                 --variable MODEL:/abs/path/model.tflite --variable EDF:/abs/path/recording.edf
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
# the detector: a model with meta.json beside it, a recording, the folder of its stream_detector build
# for BOARD (firmware.elf), and the board's alarm LED in renode/<board>.resc (<GPIO port>.alarm_led)
${MODEL}            ${EMPTY}
${EDF}              ${EMPTY}
${DETECTOR}         ${EMPTY}
${ALARM_LED}        gpioPortD.alarm_led

*** Test Cases ***
Board Answers Over The Protocol With The Reference Outputs
    [Tags]                  stream
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

Detector Drives The Alarm LED As It Reports The Alarms
    [Tags]                  detector
    Execute Command         $elf=@${DETECTOR}/firmware.elf
    Execute Command         $pty="${PTY}"
    Execute Script          ${CURDIR}/${BOARD}.resc
    Execute Command         runMacro $load
    Execute Command         runMacro $console
    ${pty_holder}=          Evaluate    os.open(r"${PTY}", os.O_RDWR | os.O_NOCTTY)    modules=os
    # the LED logs each change of its state at the Noisy level ("LED state changed to True")
    Create Log Tester       5
    Execute Command         logLevel -1 sysbus.${ALARM_LED}
    Start Emulation
    ${result}=              Run Process    ${EDGENEURO}    stream    ${MODEL}    --edf    ${EDF}    --continuous
    ...                     --board    ${BOARD}    --port    ${PTY}    --timeout    20    --json
    ...                     timeout=900s
    Should Be Equal As Integers    ${result.rc}    0    ${result.stderr}
    # The log tester's timeouts run in virtual time, which a board polling its UART under Renode
    # spends slowly (a 1 s wait took 9 minutes). Paused, the LED's log is complete, and with timeout 0
    # an entry that is not there fails at once (with a timeout it would wait for time that stands still).
    Execute Command         pause
    ${alarms}=              Evaluate    [bool(on) for on, _ in json.loads($result.stdout)["alarms"]]    modules=json
    Should Not Be Empty     ${alarms}
    FOR    ${on}    IN    @{alarms}
        Wait For Log Entry      alarm_led: LED state changed to ${on}    timeout=0
    END
    Should Not Be In Log    alarm_led: LED state changed    timeout=0
