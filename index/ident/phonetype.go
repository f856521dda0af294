package ident

import (
	"regexp"
	"regexp/syntax"
	"slices"
	"sync"

	"github.com/nyaruka/phonenumbers"
)

// Lock-free number typing for the fastPhone regions.
//
// phonenumbers.GetNumberType matches the national number against the
// region's metadata patterns, compiling each pattern string on first use
// into a cache guarded by a global lock, and builds the pattern strings
// anew on every call; with several goroutines validating numbers the lock
// and the string building dominate. numberTypes does the same matching
// (getNumberTypeHelper's order, possible lengths then the anchored
// pattern) with patterns compiled once. FuzzFastPhone checks it against
// the library.

// numberDesc is one compiled phonenumbers.PhoneNumberDesc.
type numberDesc struct {
	lengths []int32
	re      *regexp.Regexp
	// notFirst marks the digits no match of re starts with (see
	// firstBytes): numbers starting with one fail without running re.
	notFirst [10]bool
}

func compileDesc(d *phonenumbers.PhoneNumberDesc) numberDesc {
	var nd numberDesc
	if d != nil {
		nd.lengths = d.PossibleLength
	}
	pat := "^(?:" + d.GetNationalNumberPattern() + ")$"
	nd.re = regexp.MustCompile(pat)
	nd.notFirst = notFirstDigits(pat)
	return nd
}

// notFirstDigits returns the digits no match of pattern starts with
// (none when firstBytes cannot tell, or the pattern matches "").
func notFirstDigits(pattern string) (not [10]bool) {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return not
	}
	if first, nullable, ok := firstBytes(re); ok && !nullable {
		for i := range not {
			not[i] = !first['0'+i]
		}
	}
	return not
}

// matches is the library's isNumberMatchingDesc.
func (d *numberDesc) matches(nsn string) bool {
	if len(d.lengths) > 0 && !slices.Contains(d.lengths, int32(len(nsn))) {
		return false
	}
	if len(nsn) > 0 && nsn[0]-'0' < 10 && d.notFirst[nsn[0]-'0'] {
		return false
	}
	return d.re.MatchString(nsn)
}

// firstBytes returns the ASCII bytes a non-empty match of re can start
// with and whether re matches the empty string; ok is false when re holds
// anything else than ASCII literals and classes, empty-width assertions,
// captures, concatenations, alternations and repetitions (the caller then
// filters nothing).
func firstBytes(re *syntax.Regexp) (first [128]bool, nullable, ok bool) {
	switch re.Op {
	case syntax.OpEmptyMatch, syntax.OpBeginText, syntax.OpEndText, syntax.OpBeginLine, syntax.OpEndLine,
		syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return first, true, true
	case syntax.OpLiteral:
		if len(re.Rune) == 0 {
			return first, true, true
		}
		r := re.Rune[0]
		if r >= 128 || re.Flags&syntax.FoldCase != 0 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return first, false, false
		}
		first[r] = true
		return first, false, true
	case syntax.OpCharClass:
		for i := 0; i+1 < len(re.Rune); i += 2 {
			lo, hi := re.Rune[i], re.Rune[i+1]
			if hi >= 128 {
				return first, false, false
			}
			for r := lo; r <= hi; r++ {
				first[r] = true
			}
		}
		return first, false, true
	case syntax.OpCapture:
		return firstBytes(re.Sub[0])
	case syntax.OpStar, syntax.OpQuest, syntax.OpPlus, syntax.OpRepeat:
		first, nullable, ok = firstBytes(re.Sub[0])
		return first, nullable || re.Op == syntax.OpStar || re.Op == syntax.OpQuest ||
			re.Op == syntax.OpRepeat && re.Min == 0, ok
	case syntax.OpConcat:
		nullable = true
		for _, sub := range re.Sub {
			f, n, ok := firstBytes(sub)
			if !ok {
				return first, false, false
			}
			if nullable {
				for i, b := range f {
					first[i] = first[i] || b
				}
			}
			nullable = nullable && n
		}
		return first, nullable, true
	case syntax.OpAlternate:
		for _, sub := range re.Sub {
			f, n, ok := firstBytes(sub)
			if !ok {
				return first, false, false
			}
			for i, b := range f {
				first[i] = first[i] || b
			}
			nullable = nullable || n
		}
		return first, nullable, true
	}
	return first, false, false
}

// regionTypes holds one region's compiled patterns.
type regionTypes struct {
	region          string
	leading         *regexp.Regexp // nil when the metadata has no leading digits
	general         numberDesc
	special         [8]numberDesc // premium, toll-free, shared cost, VoIP, personal, pager, UAN, voicemail
	fixed, mobile   numberDesc
	sameMobileFixed bool
}

var specialTypes = [8]phonenumbers.PhoneNumberType{
	phonenumbers.PREMIUM_RATE, phonenumbers.TOLL_FREE, phonenumbers.SHARED_COST, phonenumbers.VOIP,
	phonenumbers.PERSONAL_NUMBER, phonenumbers.PAGER, phonenumbers.UAN, phonenumbers.VOICEMAIL,
}

// numberType is the library's getNumberTypeHelper.
func (rt *regionTypes) numberType(nsn string) phonenumbers.PhoneNumberType {
	if !rt.general.matches(nsn) {
		return phonenumbers.UNKNOWN
	}
	for i := range rt.special {
		if rt.special[i].matches(nsn) {
			return specialTypes[i]
		}
	}
	if rt.fixed.matches(nsn) {
		if rt.sameMobileFixed || rt.mobile.matches(nsn) {
			return phonenumbers.FIXED_LINE_OR_MOBILE
		}
		return phonenumbers.FIXED_LINE
	}
	if !rt.sameMobileFixed && rt.mobile.matches(nsn) {
		return phonenumbers.MOBILE
	}
	return phonenumbers.UNKNOWN
}

// fastTypes maps each fastCodes country code to its regions' patterns, in
// the library's order (the main country first).
var fastTypes = sync.OnceValue(func() map[int32][]*regionTypes {
	coll, err := phonenumbers.MetadataCollection()
	if err != nil {
		return nil
	}
	byRegion := map[string]*phonenumbers.PhoneMetadata{}
	for _, m := range coll.GetMetadata() {
		byRegion[m.GetId()] = m
	}
	out := map[int32][]*regionTypes{}
	for cc, regions := range phonenumbers.BuildCountryCodeToRegionMap(coll) {
		if !fastCodes[int32(cc)] {
			continue
		}
		for _, r := range regions {
			m := byRegion[r]
			if m == nil {
				return nil // metadata not as expected: use the library only
			}
			rt := &regionTypes{region: r, sameMobileFixed: m.GetSameMobileAndFixedLinePattern(),
				general: compileDesc(m.GetGeneralDesc()), fixed: compileDesc(m.GetFixedLine()), mobile: compileDesc(m.GetMobile())}
			for i, d := range []*phonenumbers.PhoneNumberDesc{m.GetPremiumRate(), m.GetTollFree(), m.GetSharedCost(),
				m.GetVoip(), m.GetPersonalNumber(), m.GetPager(), m.GetUan(), m.GetVoicemail()} {
				rt.special[i] = compileDesc(d)
			}
			if ld := m.GetLeadingDigits(); ld != "" {
				rt.leading = regexp.MustCompile("^(?:" + ld + ")")
			}
			out[int32(cc)] = append(out[int32(cc)], rt)
		}
	}
	return out
})

// typeOf returns the region and type of a national significant number of
// country code cc, as GetRegionCodeForNumber and GetNumberType would; ok is
// false when cc is not a fast code or the number is in no region.
func typeOf(cc int32, nsn string) (region string, typ phonenumbers.PhoneNumberType, ok bool) {
	regions := fastTypes()[cc]
	if len(regions) == 0 {
		return "", 0, false
	}
	rt := regions[0]
	if len(regions) > 1 {
		rt = nil
		for _, r := range regions { // getRegionCodeForNumberFromRegionList
			if r.leading != nil {
				if r.leading.MatchString(nsn) {
					rt = r
					break
				}
			} else if r.numberType(nsn) != phonenumbers.UNKNOWN {
				rt = r
				break
			}
		}
		if rt == nil {
			return "", 0, false
		}
	}
	return rt.region, rt.numberType(nsn), true
}
