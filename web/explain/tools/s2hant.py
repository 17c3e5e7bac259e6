#!/usr/bin/env python3
"""Regenerate text/zh-Hant.json from text/zh-Hans.json, and the same in
every topic folder text/TOPIC/.

OpenCC's s2twp (simplified to Taiwan, with phrases) does most of the work;
the table below fixes what it gets wrong for this text and moves the
vocabulary to Taiwan's networking usage (封包, 區段, 標頭, 位址, 協定,
計時器, 逾時, 網路卡, 「」 quotes). Needs `apt-get install opencc`.

    python3 web/explain/tools/s2hant.py

Run it after editing zh-Hans.json, then `go test ./web/explain`, which
checks zh-Hant for simplified characters and mainland terms.
"""
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TEXT = os.path.join(HERE, "..", "text")

# Applied in order, after s2twp.
FIXES = [
    ("網絡卡", "網路卡"), ("數據報", "資料報"), ("發送", "傳送"), ("以太型別", "乙太類型"),
    ("型別", "類型"), ("回撥", "回呼"), ("連結串列", "鏈結串列"), ("地址", "位址"),
    ("幀", "訊框"), ("解除安裝", "卸載"), ("函數里", "函式裡"), ("定時器", "計時器"),
    ("協議棧", "協定堆疊"), ("協議", "協定"), ("用戶", "使用者"), ("源位址", "來源位址"),
    ("抓包點", "封包擷取點"), ("單包", "單一封包"), ("逐包", "逐一封包"),
    ("每包一次", "每個封包一次"), ("棧幀", "堆疊框架"), ("棧訊框", "堆疊框架"), ("呼叫棧", "呼叫堆疊"), ("棧上", "堆疊上"), ("任務的棧", "任務的堆疊"),
]
FIXES2 = [
    ("髮", "發"), ("“", "「"), ("”", "」"), ("識別符號", "識別碼"), ("的克隆", "的複本"),
    ("使用克隆", "使用複本"), ("克隆", "複製"), ("構造", "建構"), ("會話", "工作階段"),
    ("在硬中斷返回時", "在硬中斷結束時"), ("就在返回被打斷", "就在回到被打斷"),
    ("。返回時呼叫", "。結束時呼叫"), ("返回", "傳回"),
    ("網卡里", "網路卡裡"), ("網卡", "網路卡"), ("回復", "回覆"), ("跟蹤", "追蹤"),
    ("報文段", "區段"), ("差錯報文", "錯誤訊息"), ("報文", "訊息"), ("差錯", "錯誤"),
    ("記賬", "記帳"), ("連接出錯", "連線出錯"), ("連線引數", "連線參數"), ("銷燬", "銷毀"),
    ("複用", "重用"), ("一個複製；", "一個複本；"), ("一個複製，", "一個複本，"),
    ("每一訊框", "每個訊框"),
]
FIXES3 = [
    ("頭部", "標頭"), ("首部", "標頭"), ("位元組的頭。", "位元組的標頭。"), ("客戶端", "用戶端"),
    ("超時", "逾時"), ("鏈路", "鏈結"), ("子網上", "子網路上"), ("乙太網表項", "乙太網路表項"),
    ("源 MAC", "來源 MAC"), ("源 IP", "來源 IP"), ("合並", "合併"), ("嚐試", "嘗試"),
    ("許可權", "權限"), ("全線上性部分", "全在線性部分"), ("頭長、", "標頭長度、"),
    ("目的、源、", "目的、來源、"), ("構建", "建置"), ("一份複製", "一份複本"),
    ("報復制", "報複製"), ("最後一個引用消失", "最後一個參考消失"),
    ("這是最後一個引用，", "這是最後一個參考，"), ("檔案的最後一個引用", "檔案的最後一個參考"), ("推遲到 task_work", "延後到 task_work"),
    ("每次發出的 skb", "每次送出的 skb"), ("就喚醒等待空間的寫者", "就喚醒等待空間的寫入者"),
    ("驅動從硬中斷上下文", "驅動程式從硬體中斷上下文"), ("一路到驅動", "一路到驅動程式"),
    ("表示式", "運算式"), ("例項", "實例"), ("字首路由", "前綴路由"),
    ("一箇中斷", "一個中斷"), ("位總線", "位元匯流排"), ("封包頭", "標頭"),
]


def fix(s):
    for a, b in FIXES:
        s = s.replace(a, b)
    # A packet is 封包, except in words that merely contain 包.
    s = re.sub(r"(?<![封丟一])包(?![裝括含])", "封包", s)
    s = re.sub(r"(?<!合)併", "並", s)
    for a, b in FIXES2:
        s = s.replace(a, b)
    s = re.sub(r"(乙太網|IP|IPv4|UDP|TCP|ICMP|回顯|硬體|傳輸層)( ?)頭(?![部長])",
               lambda m: ("乙太網路" if m.group(1) == "乙太網" else m.group(1)) + m.group(2) + "標頭", s)
    for a, b in FIXES3:
        s = s.replace(a, b)
    s = re.sub(r"(?<!中)斷點", "中斷點", s)  # a breakpoint, as in the UI
    return s


def convert(folder):
    src = os.path.join(folder, "zh-Hans.json")
    out = subprocess.run(["opencc", "-c", "s2twp", "-i", src], check=True,
                         capture_output=True, text=True).stdout
    out = out.replace('"lang": "zh-Hans"', '"lang": "zh-Hant"', 1)
    with open(os.path.join(folder, "zh-Hant.json"), "w", encoding="utf-8") as f:
        f.write(fix(out))


def main():
    """Converts text/ and every topic folder text/TOPIC/ in it."""
    convert(TEXT)
    for name in sorted(os.listdir(TEXT)):
        folder = os.path.join(TEXT, name)
        if os.path.isfile(os.path.join(folder, "zh-Hans.json")):
            convert(folder)


if __name__ == "__main__":
    sys.exit(main())
